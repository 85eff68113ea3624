"""The service's endpoints.

The two prediction endpoints are plain ASGI functions (service, scope, receive, send), called by the Guard straight
after its checks: Starlette's request wrapper, exception middleware and route scan cost about 13 us a request, as
much as the rest of the service's own work on a 1-row request. The other endpoints are Starlette's.
"""

import asyncio

from starlette.responses import Response
from starlette.routing import Route

from snaketrain.registry import inference
from snaketrain.serving import answers, payloads
from snaketrain.serving.payloads import BadRequest
from snaketrain.serving.scoring import TooManyRows, predict_async

# /version answers the MLflow version whose scoring protocol the service speaks (requirements-mlflow.txt)
MLFLOW_PROTOCOL_VERSION = "3.17.2"
MLFLOW_MEDIA_TYPES = ("application/json", "text/csv")
REFUSED = (BadRequest, inference.InputError, TooManyRows)


async def invocations(service, scope, receive, send):
    """MLflow's scoring protocol: JSON (one of payloads.MLFLOW_KEYS) or CSV in, {"predictions": labels} out."""
    served = scope["snaketrain.served"]
    if served is None:
        return await answers.unavailable()(scope, receive, send)
    media, charset = payloads.media_type(scope["snaketrain.content_type"])
    if charset != "utf-8" or media not in MLFLOW_MEDIA_TYPES:
        return await _unsupported(charset)(scope, receive, send)
    try:
        feeds, rows = await _mlflow_rows(media, receive, served)
        # MLflow's answer holds the labels only: no probabilities are computed for it
        labels, _ = await predict_async(service, served, feeds, rows, False)
    except REFUSED as problem:
        return await _refusal(problem, served, service)(scope, receive, send)
    await answers.send_json(send, {"predictions": answers.jsonable(labels)})


async def predict_records(service, scope, receive, send):
    """/predict: records in; the name, version, predictions and (classifiers) classes and probabilities out."""
    served = scope["snaketrain.served"]
    if served is None:
        return await answers.unavailable()(scope, receive, send)
    try:
        feeds, rows = payloads.records_table(await payloads.json_payload(receive), served.predictor.request_plan)
        labels, probabilities = await predict_async(service, served, feeds, rows, True)
    except REFUSED as problem:
        return await _refusal(problem, served, service)(scope, receive, send)
    answer = {"name": served.loaded.name, "version": served.version, "predictions": answers.jsonable(labels)}
    if probabilities is not None:
        answer["classes"] = answers.jsonable(served.loaded.classes) if served.loaded.classes else None
        answer["probabilities"] = probabilities
    await answers.send_json(send, answer)


async def _mlflow_rows(media, receive, served):
    """(feeds or None, make_frame) of an MLflow body: JSON read on the event loop, CSV in a worker thread."""
    if media == "application/json":
        payload = await payloads.json_payload(receive)
        return payloads.mlflow_table(payload, served.predictor.request_plan, served.positional)
    body = await payloads.read_body(receive)
    frame = await asyncio.to_thread(payloads.read_csv, body)
    return None, lambda: frame


def _unsupported(charset):
    if charset != "utf-8":
        return answers.error(415, "UNSUPPORTED_MEDIA_TYPE", "the service reads UTF-8 bodies only")
    message = "send Content-Type application/json or text/csv (MLflow's protocol)"
    return answers.error(415, "UNSUPPORTED_MEDIA_TYPE", message)


def _refusal(problem, served, service):
    """The answer to a request the service refuses: a bad body (400), rows that do not fit the model (422), or
    more rows than --max-rows (413)."""
    if isinstance(problem, BadRequest):
        return answers.error(400, "BAD_REQUEST", str(problem))
    if isinstance(problem, inference.InputError):
        return answers.input_error(problem, served)
    return answers.too_many_rows(problem, service.max_rows)


# routed path -> the plain ASGI function answering a POST there
DIRECT = {"/invocations": invocations, "/predict": predict_records}


class Direct:
    """A DIRECT function as a Starlette endpoint (Route calls an object as ASGI, a function through a Request): the
    route table keeps the path, so that other methods get Starlette's 405."""

    def __init__(self, handle):
        self.handle = handle

    async def __call__(self, scope, receive, send):
        await self.handle(scope["app"].state.service, scope, receive, send)


async def health(request):
    return answers.json_response({"status": "ok"})


def all_ready(service):
    return all(follower.current is not None for follower in service.followers.values())


async def ready(request):
    """Ready once every name served has a verified version; /models/<name>/ready asks about one name."""
    service = request.app.state.service
    if request.scope["snaketrain.named"]:
        served = request.scope.get("snaketrain.served")
        if served is None:
            return answers.json_response({"ready": False, "reason": "no verified model is loaded yet"}, 503)
        return answers.json_response({"ready": True, "version": served.version})
    waiting = [name for name, follower in service.followers.items() if follower.current is None]
    if waiting:
        reason = f"no verified model is loaded yet for {', '.join(map(str, waiting))}"
        return answers.json_response({"ready": False, "reason": reason}, 503)
    return answers.json_response({"ready": True, "version": service.default.version})


async def ping(request):
    """MLflow's liveness-and-model check (ScoringServerClient waits for it): 200 with a newline once the models are
    loaded, else 404, as `mlflow models serve` answers."""
    status = 200 if all_ready(request.app.state.service) else 404
    return Response("\n", status_code=status, media_type="application/json")


async def version(request):
    """The MLflow version whose scoring protocol this service speaks, as `mlflow models serve` answers /version."""
    return Response(MLFLOW_PROTOCOL_VERSION, media_type="application/json")


async def metadata(request):
    """The first name's metadata at the top level (where a client of a one-name service reads it), and every name's
    under "models"; /models/<name>/metadata gives that name's alone."""
    service = request.app.state.service
    if request.scope["snaketrain.named"]:
        return answers.json_response(model_metadata(request.scope["snaketrain.follower"]))
    answer = model_metadata(service.default)
    answer["models"] = {str(name): model_metadata(follower) for name, follower in service.followers.items()}
    return answers.json_response(answer)


def model_metadata(follower):
    """One name's version, task, model, metrics, input schema (its columns and their kinds), classes, engine and
    the steps of a prediction; the last refused version."""
    served = follower.current
    answer = {"name": follower.name, "version": None, "ready": served is not None, "refused": follower.refused}
    if served:
        meta = served.loaded.metadata
        answer.update(
            version=served.version,
            task=meta.get("task"),
            model=meta.get("model"),
            metrics=meta.get("metrics", {}),
            input_schema=meta.get("input_schema"),
            classes=answers.jsonable(served.loaded.classes) if served.loaded.classes else None,
            # binary: the class metrics are of and the decision threshold the labels come from (None: 0.5)
            **{key: meta[key] for key in ("positive_class", "threshold") if key in meta},
            engine=served.predictor.engine,
            engine_note=served.predictor.fallback_reason,
            steps=_steps(served),
            loaded_at=served.loaded_at,
        )
    return answer


def _steps(served):
    """Where each part of a prediction runs: the user's feature code in Python, then the pipeline: the parts ONNX
    has no operator for (calendar features, TF-IDF) in Python around the engine's graphs."""
    custom = served.loaded.metadata.get("custom_features")
    steps = (
        [{"step": f"features.custom ({custom['file']}: {custom['function']})", "runs_in": "python"}] if custom else []
    )
    return steps + served.predictor.steps()


async def metrics(request):
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.service.registry), media_type=CONTENT_TYPE_LATEST)


def routes():
    """The app's route table; the Guard calls DIRECT's functions itself, the table keeps their paths for 405s."""
    return [
        Route("/invocations", Direct(invocations), methods=["POST"]),
        Route("/predict", Direct(predict_records), methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metadata", metadata, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
