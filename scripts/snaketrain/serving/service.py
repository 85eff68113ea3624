"""The model service: the production version of a registered model answering HTTP, following promotions.

    snaketrain-serve --registry registry --port 8080        (or: make serve)

Endpoints (docs/serving.md): POST /invocations (MLflow's scoring protocol), POST /predict (records in,
predictions and class probabilities out), GET /health, /ready, /metadata, /metrics (Prometheus). Every
response carries the served version in the X-Model-Version header.

It is a Starlette app on uvicorn. Input goes through the inference module's check (422 listing every
problem); predictions go through serving.fast_path (ONNX Runtime when the version converts and agrees with
scikit-learn, else scikit-learn). A background task watches the production pointer of the name; a newly
promoted (or rolled back) version is loaded and sha256-verified off the request path and swapped in with one
reference assignment, so requests already running finish on the version they started with. A version that
does not load or verify is refused: the old one keeps serving and /metadata and the log say why.
"""

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import hmac
import io
import itertools
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from starlette.responses import Response

from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.serving import fast_path
from snaketrain.stage_log import StageError

STAGE = "serve"
TOKEN_ENV = "SNAKETRAIN_SERVE_TOKEN"
SETTINGS_ENV = "SNAKETRAIN_SERVE_SETTINGS"
VERSION_HEADER = b"x-model-version"
NAME_HEADER = b"x-model-name"
NO_VERSION_HEADER = (VERSION_HEADER, b"none")
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_POLL_SECONDS = 0.5
# the probes of an orchestrator reach these without the token
OPEN_PATHS = frozenset({"/health", "/ready"})
ENDPOINTS = frozenset({"/invocations", "/predict", "/health", "/ready", "/metadata", "/metrics"})
MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

logger = logging.getLogger("snaketrain.serving.service")


def now_utc():
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class BadRequest(Exception):
    """A body the service cannot read (malformed JSON or CSV, an unknown payload shape): 400."""


class BodyTooLarge(Exception):
    """More body bytes than the configured limit: 413."""


# --- following production ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """One loaded, verified version and its predictor; requests hold the one they started with."""

    loaded: object
    predictor: object
    loaded_at: str
    positional: list

    @property
    def version(self):
        return self.loaded.version

    @property
    def header(self):
        return (VERSION_HEADER, self.version.encode())


def _reason(error, root):
    """Why a version was refused, for /metadata and the log: the problem and the fix, no file path."""
    if isinstance(error, StageError):
        text = f"{error.problem}; fix: {error.fix}"
    else:
        text = f"its files do not load ({type(error).__name__})"
    return text.replace(str(Path(root).resolve()), "the registry").replace(str(root), "the registry")


class Follower:
    """Holds the version being served and follows the production pointer of one registered name."""

    def __init__(self, root, name=None, engine="auto"):
        self.root, self.name, self.engine = Path(root), name, engine
        self.current = None
        self.refused = None
        self._seen = ()

    def _pointer_key(self):
        try:
            stat = os.stat(registry.production_path(self.root, self.name))
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def refresh(self):
        """Load the production version if the pointer moved since the last look; True when a new version was
        swapped in. Runs off the event loop (loading and verifying takes a while)."""
        key = self._pointer_key()
        if key == self._seen:
            return False
        self._seen = key
        if key is None:
            return False
        try:
            pointer = registry.production(self.root, self.name)
        except (OSError, ValueError):  # a pointer being replaced right now: look again next time
            self._seen = ()
            return False
        version = pointer and pointer.get("version")
        if not version or (self.current and self.current.version == version):
            return False
        try:
            loaded = inference.load_production(self.root, self.name, stage=STAGE)
            predictor = fast_path.build(loaded, self.engine)
        except Exception as error:  # whatever breaks a load, the old version keeps serving
            self.refused = {"version": version, "reason": _reason(error, self.root), "at": now_utc()}
            logger.error("refused version %s, still serving %s: %s", version, self.version, self.refused["reason"])
            return False
        previous = self.version
        # one reference assignment: requests that started earlier keep the Served they hold
        self.current = Served(loaded, predictor, now_utc(), positional_columns(loaded))
        if self.refused and self.refused["version"] != loaded.version:
            self.refused = None
        logger.info(
            "serving version %s (was %s) with %s%s",
            loaded.version,
            previous,
            predictor.engine,
            f" ({predictor.fallback_reason})" if predictor.fallback_reason else "",
        )
        return True

    @property
    def version(self):
        return self.current.version if self.current else None

    async def follow(self, poll_seconds):
        while True:
            try:
                # a stat is cheap enough for the event loop; loading a moved pointer's version is not
                if self._pointer_key() != self._seen:
                    await asyncio.to_thread(self.refresh)
            except Exception:  # never let the watcher die: the next poll tries again
                logger.exception("looking at the production pointer failed")
            await asyncio.sleep(poll_seconds)


# --- payloads ------------------------------------------------------------------------------------------------


def _frame(data, columns=None):
    import pandas as pd

    try:
        return pd.DataFrame(data, columns=columns)
    except (ValueError, TypeError) as error:
        raise BadRequest(f"the rows do not form a table ({error})") from None


def positional_columns(loaded):
    """The column order of rows given as bare lists: the training table's (what an MLflow signature records)."""
    fitted = list(getattr(fast_path.preprocessor_of(loaded), "feature_names_in_", []))
    expected = list(loaded.input_schema["columns"])
    return fitted if sorted(fitted) == sorted(expected) else expected


def _split_frame(data, columns):
    if not all(isinstance(column, str) for column in columns):
        raise BadRequest("dataframe_split.columns must be a list of column names")
    return _frame(data, columns)


def _rows_or_columns(data, schema, columns):
    """MLflow's `inputs` / `instances`: records, {column: values}, or rows of values in the order of columns."""
    if isinstance(data, dict):
        return None, lambda: _frame(data)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return inference.numeric_records(data, schema), lambda: _frame(data)
    if isinstance(data, list) and all(isinstance(row, list) for row in data):
        if any(len(row) != len(columns) for row in data):
            raise BadRequest(f"each row must hold {len(columns)} values, one per input column: {', '.join(columns)}")
        return inference.numeric_matrix(columns, data, schema), lambda: _frame(data, columns)
    raise BadRequest("inputs/instances must be a list of records, a list of rows or an object of columns")


def mlflow_table(payload, schema, positional):
    """(float matrix or None, a function giving the rows as a DataFrame) for an MLflow JSON payload; the matrix is
    the fast path (numbers in the schema's order, already checked), else the DataFrame goes through check_input."""
    keys = [key for key in MLFLOW_KEYS if key in payload] if isinstance(payload, dict) else []
    if len(keys) != 1:
        raise BadRequest(f"the body must be a JSON object with exactly one of the keys {', '.join(MLFLOW_KEYS)}")
    data = payload[keys[0]]
    if keys[0] == "dataframe_split":
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise BadRequest("dataframe_split must be an object with 'columns' and 'data' (a list of rows)")
        columns = data.get("columns")
        if not isinstance(columns, list):
            raise BadRequest("dataframe_split.columns must be a list of column names")
        return inference.numeric_matrix(columns, data["data"], schema), lambda: _split_frame(data["data"], columns)
    if keys[0] == "dataframe_records":
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            raise BadRequest("dataframe_records must be a list of records (objects of column: value)")
        return inference.numeric_records(data, schema), lambda: _frame(data)
    return _rows_or_columns(data, schema, positional)


def records_table(payload, schema):
    """/predict: a list of records, or {"records": [...]}."""
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise BadRequest('the body must be a list of records, or {"records": [...]}, each an object of column: value')
    return inference.numeric_records(records, schema), lambda: _frame(records)


def read_csv(body):
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise BadRequest(f"the body is not a readable CSV table ({type(error).__name__})") from None


# monitoring (opt-in, --input-sample): a snaketrain.monitoring.reservoir.Reservoir of the rows answered
INPUT_SAMPLE = None


def keep_sample(columns, matrix, make_frame):
    """Offer the answered rows (input columns only, never headers) to the input sample, if one is kept."""
    if INPUT_SAMPLE is None:
        return
    if matrix is not None:
        INPUT_SAMPLE.add([dict(zip(columns, row.tolist(), strict=True)) for row in matrix])
    else:
        INPUT_SAMPLE.add(make_frame().to_dict("records"))


def predict(served, matrix, make_frame):
    """(labels, probabilities) for the rows (matrix, else make_frame()), checked against the served version's
    input schema."""
    answer = _predict(served, matrix, make_frame)
    keep_sample(list(served.loaded.input_schema["columns"]), matrix, make_frame)
    return answer


def _predict(served, matrix, make_frame):
    if matrix is not None:
        if not len(matrix):
            raise inference.InputError(STAGE, ["the input holds no rows"], served.loaded.input_schema["columns"])
        return served.predictor.predict_matrix(matrix)
    frame = make_frame()
    if frame.empty:
        raise inference.InputError(STAGE, ["the input holds no rows"], served.loaded.input_schema["columns"])
    checked, _extra = inference.check_input(frame, served.loaded.input_schema, stage=STAGE)
    try:
        return served.predictor.predict_frame(checked)
    except ValueError:
        # e.g. infinities in a CSV body: scikit-learn refuses them
        raise inference.InputError(
            STAGE,
            ["the model cannot score these rows (values out of range, such as infinities)"],
            served.loaded.input_schema["columns"],
        ) from None


# --- the app -------------------------------------------------------------------------------------------------


def _json(content, status=200, headers=None):
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(status, code, message, **extra):
    return _json({"error_code": code, "message": message, **extra}, status)


def _jsonable(values):
    # orjson writes numeric numpy arrays directly; labels of other kinds (text) go through tolist
    return values if getattr(values, "dtype", None) is not None and values.dtype.kind in "biuf" else list(values)


class Metrics:
    """The service's Prometheus metrics, counted in plain Python on the event loop (every request updates them, so
    they must cost next to nothing) and turned into Prometheus families when /metrics is scraped."""

    def __init__(self, name):
        self.name = name or ""
        self.requests = {}  # (endpoint, status) -> count
        self.latency = {}  # endpoint -> [bucket counts..., +Inf count], sum of seconds
        self.follower = None

    def observe(self, endpoint, status, seconds):
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get(endpoint)
        if histogram is None:
            histogram = self.latency[endpoint] = [[0] * (len(LATENCY_BUCKETS) + 1), 0.0]
        histogram[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram[1] += seconds

    def collect(self):
        """The prometheus_client collector protocol: the families as they are now."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        requests = CounterMetricFamily(
            "snaketrain_serve_requests", "HTTP requests by endpoint and status", labels=["endpoint", "status"]
        )
        for (endpoint, status), count in sorted(self.requests.items()):
            requests.add_metric([endpoint, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "snaketrain_serve_request_seconds", "Time to answer, by endpoint", labels=["endpoint"]
        )
        for endpoint, (counts, total) in sorted(self.latency.items()):
            cumulative = list(itertools.accumulate(counts))
            bounds = [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
            latency.add_metric([endpoint], list(zip(bounds, cumulative, strict=True)), total)
        yield latency
        follower = self.follower
        model = GaugeMetricFamily(
            "snaketrain_serve_model_info", "The version served (value 1)", labels=["name", "version", "engine"]
        )
        if follower and follower.current:
            model.add_metric([self.name, follower.version, follower.current.predictor.engine], 1)
        yield model
        refused = GaugeMetricFamily(
            "snaketrain_serve_refused_version_info",
            "The last version refused because it did not load or verify (value 1)",
            labels=["version"],
        )
        if follower and follower.refused:
            refused.add_metric([follower.refused["version"]], 1)
        yield refused


class Guard:
    """Pure ASGI middleware around every request: picks the version the request runs on, checks the token and
    the body size, adds the version header, records metrics, and turns any unexpected failure into a plain 500
    (the traceback goes to the log, never into the response)."""

    def __init__(self, app, service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        service, start = self.service, time.perf_counter()
        served = service.follower.current
        scope["snaketrain.served"] = served
        extra_headers = (served.header if served else NO_VERSION_HEADER, service.name_header)
        path = scope["path"]
        status, started, received = 500, False, 0

        async def send_marked(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        async def receive_limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > service.max_body_bytes:
                    raise BodyTooLarge
            return message

        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        scope["snaketrain.content_type"] = headers.get(b"content-type", b"")
        try:
            if service.token and path not in OPEN_PATHS and not _authorized(headers, service.token):
                response = _error(401, "UNAUTHENTICATED", "this service needs 'Authorization: Bearer <token>'")
                response.headers["www-authenticate"] = "Bearer"
                await response(scope, receive, send_marked)
            elif length is not None and not length.isdigit():
                await _error(400, "BAD_REQUEST", "the Content-Length header is not a number")(
                    scope, receive, send_marked
                )
            elif length is not None and int(length) > service.max_body_bytes:
                await self._too_large(scope, receive, send_marked)
            else:
                # a declared length is enforced by the HTTP server; a chunked body is counted as it comes
                await self.app(scope, receive if length is not None else receive_limited, send_marked)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send_marked)
        except Exception:
            logger.exception("unexpected failure answering %s %s", scope.get("method"), path)
            if not started:
                response = _error(500, "INTERNAL_ERROR", "the service failed to answer this request; see its log")
                await response(scope, receive, send_marked)
        finally:
            service.metrics.observe(path if path in ENDPOINTS else "other", status, time.perf_counter() - start)

    async def _too_large(self, scope, receive, send):
        limit = self.service.max_body_bytes
        response = _error(413, "REQUEST_TOO_LARGE", f"the body is larger than this service takes ({limit} bytes)")
        await response(scope, receive, send)


def _authorized(headers, token):
    given = headers.get(b"authorization", b"")
    return hmac.compare_digest(given, b"Bearer " + token.encode())


class Service:
    """Settings and state shared by the handlers of one app."""

    def __init__(self, root, name=None, engine="auto", max_body_bytes=DEFAULT_MAX_BODY_BYTES, token=None):
        self.follower = Follower(root, name, engine)
        self.name = name
        self.name_header = (NAME_HEADER, (name or "").encode())
        self.max_body_bytes = max_body_bytes
        self.token = token or None
        self.metrics = Metrics(name)
        self.metrics.follower = self.follower
        from prometheus_client import CollectorRegistry

        # an app's own registry, so that tests can build several apps in one process
        self.registry = CollectorRegistry()
        self.registry.register(self.metrics)


def _served_or_503(request):
    served = request.scope.get("snaketrain.served")
    if served is None:
        return None, _error(503, "MODEL_NOT_READY", "no verified model is loaded yet; see /metadata")
    return served, None


def _media_type(request):
    content_type = request.scope["snaketrain.content_type"]
    if content_type == b"application/json":  # the common case, without parsing
        return "application/json", "utf-8"
    content_type = content_type.decode("latin-1")
    media, *params = [part.strip() for part in content_type.split(";")]
    charset = dict(param.partition("=")[::2] for param in params if param).get("charset", "utf-8")
    return media.lower(), charset.lower()


async def _payload(request):
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None


def _input_error(error, served):
    return _error(
        422,
        "INVALID_INPUT",
        f"the rows do not fit the input schema of version {served.version}",
        problems=error.problems,
        expected_columns=served.loaded.input_schema["columns"],
    )


async def invocations(request):
    served, unavailable = _served_or_503(request)
    if unavailable:
        return unavailable
    media, charset = _media_type(request)
    if charset != "utf-8":
        return _error(415, "UNSUPPORTED_MEDIA_TYPE", "the service reads UTF-8 bodies only")
    try:
        if media == "application/json":
            matrix, rows = mlflow_table(await _payload(request), served.loaded.input_schema, served.positional)
        elif media == "text/csv":
            frame = read_csv(await request.body())
            matrix, rows = None, lambda: frame
        else:
            return _error(
                415, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type application/json or text/csv (MLflow's protocol)"
            )
        labels, _ = predict(served, matrix, rows)
    except BadRequest as error:
        return _error(400, "BAD_REQUEST", str(error))
    except inference.InputError as error:
        return _input_error(error, served)
    return _json({"predictions": _jsonable(labels)})


async def predict_records(request):
    served, unavailable = _served_or_503(request)
    if unavailable:
        return unavailable
    try:
        matrix, rows = records_table(await _payload(request), served.loaded.input_schema)
        labels, probabilities = predict(served, matrix, rows)
    except BadRequest as error:
        return _error(400, "BAD_REQUEST", str(error))
    except inference.InputError as error:
        return _input_error(error, served)
    answer = {"name": request.app.state.service.name, "version": served.version, "predictions": _jsonable(labels)}
    if probabilities is not None:
        answer["classes"] = _jsonable(served.loaded.classes) if served.loaded.classes else None
        answer["probabilities"] = probabilities
    return _json(answer)


async def health(request):
    return _json({"status": "ok"})


async def ready(request):
    served = request.scope.get("snaketrain.served")
    if served is None:
        return _json({"ready": False, "reason": "no verified model is loaded yet"}, 503)
    return _json({"ready": True, "version": served.version})


async def metadata(request):
    service = request.app.state.service
    follower = service.follower
    served = follower.current
    answer = {"name": service.name, "version": None, "ready": served is not None, "refused": follower.refused}
    if served:
        meta = served.loaded.metadata
        answer.update(
            version=served.version,
            task=meta.get("task"),
            model=meta.get("model"),
            metrics=meta.get("metrics", {}),
            input_schema=meta.get("input_schema"),
            classes=_jsonable(served.loaded.classes) if served.loaded.classes else None,
            engine=served.predictor.engine,
            engine_note=served.predictor.fallback_reason,
            loaded_at=served.loaded_at,
        )
    return _json(answer)


async def metrics(request):
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.service.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(
    registry_root,
    name=None,
    engine="auto",
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    poll_seconds=DEFAULT_POLL_SECONDS,
    token=None,
):
    """The ASGI app serving the production version of `name` in the registry at registry_root."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    service = Service(registry_root, name, engine, max_body_bytes, token)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await asyncio.to_thread(service.follower.refresh)
        if not service.follower.current:
            logger.warning("no verified production model yet in the registry; /ready answers 503 until one loads")
        watcher = asyncio.create_task(service.follower.follow(poll_seconds))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/predict", predict_records, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metadata", metadata, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, service=service)], lifespan=lifespan)
    app.state.service = service
    return app


def app_from_env():
    """The app for uvicorn's workers: settings from SNAKETRAIN_SERVE_SETTINGS, the token from its own variable."""
    global INPUT_SAMPLE
    settings = json.loads(os.environ[SETTINGS_ENV])
    sample = settings.pop("input_sample", None)
    if sample:
        from snaketrain.monitoring.reservoir import Reservoir
        from snaketrain.registry import inference

        columns = inference.load_production(settings["registry_root"], settings["name"]).input_schema["columns"]
        INPUT_SAMPLE = Reservoir(sample["path"], sample["size"], list(columns))
    return create_app(token=os.environ.get(TOKEN_ENV), **settings)


# --- the command ---------------------------------------------------------------------------------------------


def config_defaults(config_path="config/config.yaml"):
    """(registry path, model name) from the workflow's config, as `make run` used them; (None, None) without one."""
    import yaml

    path = Path(config_path)
    if not path.is_file():
        return None, None
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = (config.get("registry") or {}).get("model_name") or (config.get("data") or {}).get("name")
    return (config.get("registry") or {}).get("path"), name


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="snaketrain-serve",
        description="Serve the production version of a registered model over HTTP, following promotions.",
    )
    parser.add_argument("--config", default="config/config.yaml", help="where the defaults below come from")
    parser.add_argument("--registry", help="registry folder (default: the config's registry.path, else 'registry')")
    parser.add_argument("--name", help="registered model name (default: the config's registry.model_name or data.name)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1, help="worker processes, each with its own copy of the model")
    parser.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="larger bodies are answered 413"
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "sklearn"),
        default="auto",
        help="auto: ONNX Runtime when the model converts and agrees with scikit-learn; sklearn: always scikit-learn",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=DEFAULT_POLL_SECONDS, help="how often to look at the pointer"
    )
    parser.add_argument(
        "--input-sample",
        metavar="CSV",
        help="keep a uniform sample of the inputs answered in this CSV file (for monitoring.current); off by default",
    )
    parser.add_argument("--input-sample-size", type=int, default=10_000, help="rows the input sample keeps")
    parser.add_argument("--access-log", action="store_true", help="log every request (off: it costs throughput)")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv=None):
    import uvicorn

    args = parse_args(argv)
    config_registry, config_name = config_defaults(args.config)
    root = Path(args.registry or config_registry or "registry")
    settings = {
        "registry_root": str(root.resolve()),
        "name": args.name or config_name,
        "engine": args.engine,
        "max_body_bytes": args.max_body_bytes,
        "poll_seconds": args.poll_seconds,
    }
    if args.input_sample:
        if args.workers != 1:
            sys.exit("snaketrain-serve: --input-sample needs --workers 1 (one process keeps the sample)")
        settings["input_sample"] = {"path": str(Path(args.input_sample).resolve()), "size": args.input_sample_size}
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info(
        "serving %s from %s on http://%s:%d (token %s)",
        settings["name"] or "the production model",
        root,
        args.host,
        args.port,
        "required" if os.environ.get(TOKEN_ENV) else "not set",
    )
    # uvicorn drains the requests in flight on SIGTERM, then raises the signal again with the handler that was
    # there before it started: this one, so that a drained shutdown exits 0 (what orchestrators expect)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "snaketrain.serving.service:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
