"""The model service: the production version of a registered model answering HTTP, following promotions.

    snaketrain-serve --registry registry --port 8080        (or: make serve)

Endpoints (docs/serving.md): POST /invocations (MLflow's scoring protocol), POST /predict (records in,
predictions and class probabilities out), GET /ping and /version (as `mlflow models serve` answers them), /health,
/ready, /metadata, /metrics (Prometheus). Several names from one process (--name repeated, or --all): each at
/models/<name>/invocations, /predict, /ready and /metadata, the first also at the plain paths. Every response
carries the served version in the X-Model-Version header.

It is a Starlette app on uvicorn; the Guard middleware calls the two prediction endpoints as plain ASGI functions
(no Request object, no route scan). Input goes through the inference module's check (422 listing every
problem) unless the fast path takes the values as they are; predictions go through serving.fast_path (ONNX
Runtime when the version converts and agrees with scikit-learn, else scikit-learn), computing only what the
endpoint returns, on the event loop when the call takes microseconds and in a thread otherwise. A background task
per name watches its production pointer; a newly promoted (or rolled back) version is loaded and sha256-verified
off the request path and swapped in with one reference assignment, so requests already running finish on the
version they started with. A version that does not load or verify is refused: the old one keeps serving and
/metadata and the log say why. Limits (body bytes, rows, body read timeout) are answered with JSON to every
client, urllib's included.
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
import urllib.parse
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
DEFAULT_MAX_ROWS = 10_000
CHECK_ROWS_FILE = "check_rows.parquet"
DEFAULT_READ_TIMEOUT_S = 10.0
# how much of a body over the limit is read and thrown away, so that the client reads the 413 (see Guard)
DRAIN_BYTES = 64 * 1024 * 1024
# /version answers the MLflow version whose scoring protocol the service speaks (requirements-mlflow.txt)
MLFLOW_PROTOCOL_VERSION = "3.17.2"
# the probes of an orchestrator reach these without the token
OPEN_PATHS = frozenset({"/health", "/ready", "/ping", "/version"})
ENDPOINTS = frozenset({"/invocations", "/predict", "/health", "/ready", "/ping", "/version", "/metadata", "/metrics"})
MODEL_ENDPOINTS = frozenset({"/invocations", "/predict", "/ready", "/metadata"})
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
        self.name_header = (NAME_HEADER, (name or "").encode())
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
            predictor = fast_path.build(loaded, self.engine, check_rows(self.root, version, self.name))
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
            "serving version %s of %s (was %s) with %s%s",
            loaded.version,
            self.name,
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


def check_rows(root, version, name):
    """The rows a version's fast path is checked on besides the probe rows: its test split (CHECK_ROWS_FILE, when
    registration stored one), else the input example of its MLflow directory (the mirror's), else none. Used to
    check a conversion only, never to predict: a file that does not read just means fewer rows checked."""
    import pandas as pd

    folder = registry.version_dir(root, version, name)
    try:
        if (folder / CHECK_ROWS_FILE).is_file():
            return pd.read_parquet(folder / CHECK_ROWS_FILE)
        example = folder / "mlflow" / "input_example.json"
        if example.is_file():
            split = json.loads(example.read_text(encoding="utf-8"))
            return pd.DataFrame(split["data"], columns=split["columns"])
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("the check rows of version %s of %s do not read; checking on probe rows only", version, name)
    return None


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


def _rows_or_columns(data, plan, columns):
    """MLflow's `inputs` / `instances`: records, {column: values}, or rows of values in the order of columns."""
    if isinstance(data, dict):
        return None, lambda: _frame(data)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return _records_feeds(plan, data), lambda: _frame(data)
    if isinstance(data, list) and all(isinstance(row, list) for row in data):
        if any(len(row) != len(columns) for row in data):
            raise BadRequest(f"each row must hold {len(columns)} values, one per input column: {', '.join(columns)}")
        return _rows_feeds(plan, columns, data), lambda: _frame(data, columns)
    raise BadRequest("inputs/instances must be a list of records, a list of rows or an object of columns")


def _rows_feeds(plan, columns, rows):
    return fast_path.rows_feeds(plan, columns, rows) if plan is not None else None


def _records_feeds(plan, records):
    return fast_path.records_feeds(plan, records) if plan is not None else None


def mlflow_table(payload, plan, positional):
    """(the fast path's feeds or None, a function giving the rows as a DataFrame) for an MLflow JSON payload; the
    feeds (values already checked) exist only when the version is served by the fast path (plan not None) and
    every value is of the kind its column takes; else the DataFrame goes through check_input."""
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
        return _rows_feeds(plan, columns, data["data"]), lambda: _split_frame(data["data"], columns)
    if keys[0] == "dataframe_records":
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            raise BadRequest("dataframe_records must be a list of records (objects of column: value)")
        return _records_feeds(plan, data), lambda: _frame(data)
    return _rows_or_columns(data, plan, positional)


def records_table(payload, plan):
    """/predict: a list of records, or {"records": [...]}."""
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise BadRequest('the body must be a list of records, or {"records": [...]}, each an object of column: value')
    return _records_feeds(plan, records), lambda: _frame(records)


def read_csv(body):
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise BadRequest(f"the body is not a readable CSV table ({type(error).__name__})") from None


# monitoring (opt-in, --input-sample): a snaketrain.monitoring.reservoir.Reservoir of the rows answered
INPUT_SAMPLE = None


def keep_sample(served, make_frame):
    """Offer the answered rows (the model's input columns only, never headers) to the input sample, if one is kept."""
    if INPUT_SAMPLE is None:
        return
    frame = make_frame()
    columns = [column for column in served.loaded.input_schema["columns"] if column in frame.columns]
    INPUT_SAMPLE.add(frame[columns].to_dict("records"))


class TooManyRows(Exception):
    """More rows than the configured limit: 413."""


def _rows_in(feeds):
    return len(next(iter(feeds.values()))) if feeds else 0


def predict(served, feeds, make_frame, probabilities=False, max_rows=None):
    """(labels, probabilities or None) for the rows (feeds, else make_frame()), checked against the served
    version's input schema; probabilities are computed only when asked for."""
    answer = _predict(served, feeds, make_frame, probabilities, max_rows)
    keep_sample(served, make_frame)
    return answer


def _predict(served, feeds, make_frame, probabilities=False, max_rows=None):
    if feeds is not None:
        if max_rows and _rows_in(feeds) > max_rows:
            raise TooManyRows(_rows_in(feeds))
        return served.predictor.predict_feeds(feeds, probabilities)
    frame = make_frame()
    if frame.empty:
        raise inference.InputError(STAGE, ["the input holds no rows"], served.loaded.input_schema["columns"])
    if max_rows and len(frame) > max_rows:
        raise TooManyRows(len(frame))
    checked, _extra = inference.check_input(frame, served.loaded.input_schema, stage=STAGE)
    try:
        return served.predictor.predict_frame(checked, probabilities)
    except ValueError:
        # e.g. infinities in a CSV body: scikit-learn refuses them
        raise inference.InputError(
            STAGE,
            ["the model cannot score these rows (values out of range, such as infinities)"],
            served.loaded.input_schema["columns"],
        ) from None


async def predict_async(served, feeds, make_frame, probabilities, max_rows):
    """predict, on the event loop when it takes under a millisecond (the fast path on rows it was timed to score
    that fast when the version loaded: a thread hop would cost more than the call), else in a worker thread, so
    that a slow call never stalls the other connections."""
    if feeds is not None and _rows_in(feeds) <= served.predictor.inline_rows:
        return predict(served, feeds, make_frame, probabilities, max_rows)
    return await asyncio.to_thread(predict, served, feeds, make_frame, probabilities, max_rows)


# --- the app -------------------------------------------------------------------------------------------------


def _json(content, status=200, headers=None):
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


JSON_HEADERS = ((b"content-type", b"application/json"),)


async def send_json(send, content):
    """A 200 JSON answer sent as two ASGI messages, without building a Response (the prediction endpoints)."""
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error(status, code, message, headers=None, **extra):
    return _json({"error_code": code, "message": message, **extra}, status, headers)


def _jsonable(values):
    # orjson writes numeric numpy arrays directly; labels of other kinds (text) go through tolist
    return values if getattr(values, "dtype", None) is not None and values.dtype.kind in "biuf" else list(values)


class Metrics:
    """The service's Prometheus metrics, counted in plain Python on the event loop (every request updates them, so
    they must cost next to nothing) and turned into Prometheus families when /metrics is scraped."""

    def __init__(self, followers):
        self.requests = {}  # (endpoint, status) -> count
        self.latency = {}  # endpoint -> [bucket counts..., +Inf count], sum of seconds
        self.followers = followers

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
        model = GaugeMetricFamily(
            "snaketrain_serve_model_info", "The version served (value 1)", labels=["name", "version", "engine"]
        )
        refused = GaugeMetricFamily(
            "snaketrain_serve_refused_version_info",
            "The last version refused because it did not load or verify (value 1)",
            labels=["name", "version"],
        )
        for name, follower in self.followers.items():
            if follower.current:
                model.add_metric([name or "", follower.version, follower.current.predictor.engine], 1)
            if follower.refused:
                refused.add_metric([name or "", follower.refused["version"]], 1)
        yield model
        yield refused


def _route(service, path):
    """(follower, endpoint label, the path the app routes) for a request path: /models/<name>/<endpoint> names a
    model and is routed as /<endpoint> (one route table for every name, matched by its first routes); any other
    path belongs to the first name; follower None for an unknown name."""
    if not path.startswith("/models/"):
        return service.default, path if path in ENDPOINTS else "other", None
    name, _, rest = path[len("/models/") :].partition("/")
    if "/" + rest not in MODEL_ENDPOINTS:
        return service.followers.get(urllib.parse.unquote(name)), "other", "/not-found"
    return service.followers.get(urllib.parse.unquote(name)), "/models/{name}/" + rest, "/" + rest


class Guard:
    """Pure ASGI middleware around every request: picks the model and the version the request runs on, checks the
    token, the body size and how fast the body comes, adds the version header, records metrics, and turns any
    unexpected failure into a plain 500 (the traceback goes to the log, never into the response)."""

    def __init__(self, app, service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        service, start = self.service, time.perf_counter()
        path = scope["path"]
        follower, endpoint, routed = _route(service, path)
        served = follower.current if follower else None
        scope["snaketrain.follower"], scope["snaketrain.served"] = follower, served
        scope["snaketrain.named"] = routed is not None
        if routed is not None:
            scope["path"] = routed
        extra_headers = (
            served.header if served else NO_VERSION_HEADER,
            follower.name_header if follower else (NAME_HEADER, b""),
        )
        status, started, received = 500, False, 0
        body_done = scope["method"] in ("GET", "HEAD")

        async def send_marked(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        async def receive_guarded():
            # a client that stops sending mid-body is dropped after read_timeout_s: it holds no thread meanwhile
            nonlocal received, body_done
            message = await service.reads.receive(receive)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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
            elif follower is None:
                await _error(404, "RESOURCE_DOES_NOT_EXIST", "no model of that name is served here; see /metadata")(
                    scope, receive, send_marked
                )
            elif length is not None and not length.isdigit():
                await _error(400, "BAD_REQUEST", "the Content-Length header is not a number")(
                    scope, receive, send_marked
                )
            elif length is not None and int(length) > service.max_body_bytes:
                raise BodyTooLarge
            elif scope["method"] == "POST" and scope["path"] in DIRECT:
                await DIRECT[scope["path"]](service, scope, receive_guarded, send_marked)
            else:
                await self.app(scope, receive_guarded, send_marked)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send_marked, body_done, length)
        except TimeoutError:
            if not started:
                message = f"the body did not arrive within {service.read_timeout_s} s"
                await _error(408, "REQUEST_TIMEOUT", message, headers={"connection": "close"})(
                    scope, receive, send_marked
                )
        except Exception:
            logger.exception("unexpected failure answering %s %s", scope.get("method"), path)
            if not started:
                response = _error(500, "INTERNAL_ERROR", "the service failed to answer this request; see its log")
                await response(scope, receive, send_marked)
        finally:
            service.metrics.observe(endpoint, status, time.perf_counter() - start)

    async def _too_large(self, scope, receive, send, body_done, length):
        """413. A client that sends the whole body before reading (Python's urllib does) would get a connection
        reset if the server closed with the body unread: read and discard it, up to DRAIN_BYTES and within the read
        timeout, then answer; past that bound, answer and close the connection (HTTP/1.1, RFC 9112 9.6)."""
        service = self.service
        limit = service.max_body_bytes
        drained = body_done or (length is not None and int(length) > DRAIN_BYTES)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(service.read_timeout_s):
                read = 0
                while not drained and read <= DRAIN_BYTES:
                    message = await receive()
                    read += len(message.get("body", b""))
                    drained = message["type"] != "http.request" or not message.get("more_body", False)
        response = _error(
            413,
            "REQUEST_TOO_LARGE",
            f"the body is larger than this service takes ({limit} bytes)",
            headers=None if drained else {"connection": "close"},
        )
        await response(scope, receive, send)


class ReadDeadlines:
    """Bounds how long a request waits for each part of its body. asyncio.timeout around every read costs 4-5 us (a
    timer made and cancelled), about 2% of a 1-row request's CPU; here a read costs a dict entry, and one sweep every
    read_timeout_s / 4 (at most a second) cancels the reads past their deadline: a read waits at most 1.25 times the
    timeout. Runs on the event loop only."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.waiting = {}  # task -> the time (time.monotonic) by which its read must return
        self.late = set()  # tasks the sweep cancelled

    async def receive(self, receive):
        task = asyncio.current_task()
        self.waiting[task] = time.monotonic() + self.seconds
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self.late:
                raise
            self.late.discard(task)
            task.uncancel()
            raise TimeoutError from None
        finally:
            del self.waiting[task]

    async def sweep(self):
        while True:
            await asyncio.sleep(min(1.0, max(0.01, self.seconds / 4)))  # never a busy loop, whatever --read-timeout
            now = time.monotonic()
            for task, deadline in list(self.waiting.items()):
                if deadline < now and task not in self.late:
                    self.late.add(task)
                    task.cancel()


def _authorized(headers, token):
    given = headers.get(b"authorization", b"")
    return hmac.compare_digest(given, b"Bearer " + token.encode())


class Service:
    """Settings and state shared by the handlers of one app: one Follower per name served."""

    def __init__(
        self,
        root,
        names=(None,),
        engine="auto",
        max_body_bytes=DEFAULT_MAX_BODY_BYTES,
        token=None,
        max_rows=DEFAULT_MAX_ROWS,
        read_timeout_s=DEFAULT_READ_TIMEOUT_S,
    ):
        self.followers = {name: Follower(root, name, engine) for name in names}
        self.default = next(iter(self.followers.values()))
        self.name = self.default.name
        self.max_body_bytes, self.max_rows, self.read_timeout_s = max_body_bytes, max_rows, read_timeout_s
        self.token = token or None
        self.reads = ReadDeadlines(read_timeout_s)
        self.metrics = Metrics(self.followers)
        from prometheus_client import CollectorRegistry

        # an app's own registry, so that tests can build several apps in one process
        self.registry = CollectorRegistry()
        self.registry.register(self.metrics)


def _unavailable():
    return _error(503, "MODEL_NOT_READY", "no verified model is loaded yet; see /metadata")


def _media_type(scope):
    content_type = scope["snaketrain.content_type"]
    if content_type == b"application/json":  # the common case, without parsing
        return "application/json", "utf-8"
    content_type = content_type.decode("latin-1")
    media, *params = [part.strip() for part in content_type.split(";")]
    charset = dict(param.partition("=")[::2] for param in params if param).get("charset", "utf-8")
    return media.lower(), charset.lower()


async def read_body(receive):
    """The whole request body (the Guard's receive already bounds its size and how slowly it comes)."""
    from starlette.requests import ClientDisconnect

    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def _payload(receive):
    try:
        return orjson.loads(await read_body(receive))
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


def _too_many_rows(error, service):
    return _error(
        413,
        "TOO_MANY_ROWS",
        f"the request holds {error.args[0]} rows; this service takes at most {service.max_rows} a request "
        "(--max-rows): send them in smaller batches",
    )


# The two prediction endpoints are plain ASGI functions (service, scope, receive, send), called by the Guard
# straight after its checks: Starlette's request wrapper, exception middleware and route scan cost about 13 us a
# request, as much as the rest of the service's own work on a 1-row request. The other endpoints are Starlette's.


async def invocations(service, scope, receive, send):
    served = scope["snaketrain.served"]
    if served is None:
        return await _unavailable()(scope, receive, send)
    media, charset = _media_type(scope)
    if charset != "utf-8":
        return await _error(415, "UNSUPPORTED_MEDIA_TYPE", "the service reads UTF-8 bodies only")(scope, receive, send)
    try:
        if media == "application/json":
            feeds, rows = mlflow_table(await _payload(receive), served.predictor.request_plan, served.positional)
        elif media == "text/csv":
            body = await read_body(receive)
            frame = await asyncio.to_thread(read_csv, body)
            feeds, rows = None, lambda: frame
        else:
            response = _error(
                415, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type application/json or text/csv (MLflow's protocol)"
            )
            return await response(scope, receive, send)
        # MLflow's answer holds the labels only: no probabilities are computed for it
        labels, _ = await predict_async(served, feeds, rows, False, service.max_rows)
    except (BadRequest, inference.InputError, TooManyRows) as error:
        return await _refusal(error, served, service)(scope, receive, send)
    await send_json(send, {"predictions": _jsonable(labels)})


def _refusal(error, served, service):
    """The answer to a request the service refuses: a bad body (400), rows that do not fit the model (422), or
    more rows than --max-rows (413)."""
    if isinstance(error, BadRequest):
        return _error(400, "BAD_REQUEST", str(error))
    if isinstance(error, inference.InputError):
        return _input_error(error, served)
    return _too_many_rows(error, service)


async def predict_records(service, scope, receive, send):
    served = scope["snaketrain.served"]
    if served is None:
        return await _unavailable()(scope, receive, send)
    try:
        feeds, rows = records_table(await _payload(receive), served.predictor.request_plan)
        labels, probabilities = await predict_async(served, feeds, rows, True, service.max_rows)
    except (BadRequest, inference.InputError, TooManyRows) as error:
        return await _refusal(error, served, service)(scope, receive, send)
    answer = {"name": served.loaded.name, "version": served.version, "predictions": _jsonable(labels)}
    if probabilities is not None:
        answer["classes"] = _jsonable(served.loaded.classes) if served.loaded.classes else None
        answer["probabilities"] = probabilities
    await send_json(send, answer)


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
    return _json({"status": "ok"})


def _all_ready(service):
    return all(follower.current is not None for follower in service.followers.values())


async def ready(request):
    """Ready once every name served has a verified version; /models/<name>/ready asks about one name."""
    service = request.app.state.service
    if request.scope["snaketrain.named"]:
        served = request.scope.get("snaketrain.served")
        if served is None:
            return _json({"ready": False, "reason": "no verified model is loaded yet"}, 503)
        return _json({"ready": True, "version": served.version})
    waiting = [name for name, follower in service.followers.items() if follower.current is None]
    if waiting:
        return _json(
            {"ready": False, "reason": f"no verified model is loaded yet for {', '.join(map(str, waiting))}"}, 503
        )
    return _json({"ready": True, "version": service.default.version})


async def ping(request):
    """MLflow's liveness-and-model check (ScoringServerClient waits for it): 200 with a newline once the models are
    loaded, else 404, as `mlflow models serve` answers."""
    status = 200 if _all_ready(request.app.state.service) else 404
    return Response("\n", status_code=status, media_type="application/json")


async def version(request):
    """The MLflow version whose scoring protocol this service speaks, as `mlflow models serve` answers /version."""
    return Response(MLFLOW_PROTOCOL_VERSION, media_type="application/json")


def _model_metadata(follower):
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
            classes=_jsonable(served.loaded.classes) if served.loaded.classes else None,
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


async def metadata(request):
    """The first name's metadata (its fields at the top, as before), and every name's under "models"."""
    service = request.app.state.service
    if request.scope["snaketrain.named"]:
        return _json(_model_metadata(request.scope["snaketrain.follower"]))
    answer = _model_metadata(service.default)
    answer["models"] = {str(name): _model_metadata(follower) for name, follower in service.followers.items()}
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
    names=None,
    max_rows=DEFAULT_MAX_ROWS,
    read_timeout_s=DEFAULT_READ_TIMEOUT_S,
):
    """The ASGI app serving the production version of each name (names, else name) in the registry at
    registry_root; the first name also answers at the plain paths."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    service = Service(registry_root, names or (name,), engine, max_body_bytes, token, max_rows, read_timeout_s)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        followers = list(service.followers.values())
        await asyncio.gather(*(asyncio.to_thread(follower.refresh) for follower in followers))
        if not _all_ready(service):
            logger.warning("no verified production model yet for every name; /ready answers 503 until they load")
        watchers = [asyncio.create_task(follower.follow(poll_seconds)) for follower in followers]
        watchers.append(asyncio.create_task(service.reads.sweep()))
        try:
            yield
        finally:
            for watcher in watchers:
                watcher.cancel()
            for watcher in watchers:
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    routes = [
        Route("/invocations", Direct(invocations), methods=["POST"]),
        Route("/predict", Direct(predict_records), methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
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

        # the first name's input columns: the one served at /invocations
        columns = inference.load_production(settings["registry_root"], settings["names"][0]).input_schema["columns"]
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


def served_names(root, names, every, config_name):
    """The names to serve, in order: --all's (every name with a production version, sorted), else --name's, else
    the config's."""
    if every:
        found = [name for name in registry.names_on_disk(root) if registry.production(root, name)]
        if not found:
            raise SystemExit(f"snaketrain-serve: no name in {root} has a production version")
        return found
    return list(dict.fromkeys(names)) if names else [config_name]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="snaketrain-serve",
        description="Serve the production version of a registered model over HTTP, following promotions.",
    )
    parser.add_argument("--config", default="config/config.yaml", help="where the defaults below come from")
    parser.add_argument("--registry", help="registry folder (default: the config's registry.path, else 'registry')")
    parser.add_argument(
        "--name",
        action="append",
        help="registered model name; give it more than once to serve several, each at /models/<name>/... (the first "
        "also at /invocations etc.; default: the config's registry.model_name or data.name)",
    )
    parser.add_argument(
        "--all", action="store_true", help="serve every name in the registry that has a production version"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1, help="worker processes, each with its own copy of the model")
    parser.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="larger bodies are answered 413"
    )
    parser.add_argument(
        "--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="requests with more rows are answered 413"
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT_S,
        help="seconds a client may take between two parts of its body before it is answered 408 and dropped",
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
    names = served_names(root, args.name, args.all, config_name)
    settings = {
        "registry_root": str(root.resolve()),
        "names": names,
        "engine": args.engine,
        "max_body_bytes": args.max_body_bytes,
        "max_rows": args.max_rows,
        "read_timeout_s": args.read_timeout,
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
        ", ".join(str(name) for name in names if name) or "the production model",
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
