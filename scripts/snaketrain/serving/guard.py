"""The Guard: pure ASGI middleware around every request.

It picks the model and the version the request runs on, checks the token, the body size and how fast the body
comes, adds the version and name headers, records metrics, and turns any unexpected failure into a plain 500 (the
traceback goes to the log, never into the response). Limits are answered with JSON to every client, urllib's
included. The two prediction endpoints are called straight from here as plain ASGI functions (no Request object,
no route scan); the other endpoints go through the Starlette app.
"""

import asyncio
import contextlib
import hmac
import logging
import time
import urllib.parse

from snaketrain.serving import answers
from snaketrain.serving.follower import NAME_HEADER, VERSION_HEADER

# how much of a body over the limit is read and thrown away, so that the client reads the 413 (Guard._too_large)
DRAIN_BYTES = 64 * 1024 * 1024
# the probes of an orchestrator reach these without the token
OPEN_PATHS = frozenset({"/health", "/ready", "/ping", "/version"})
ENDPOINTS = frozenset({"/invocations", "/predict", "/health", "/ready", "/ping", "/version", "/metadata", "/metrics"})
MODEL_ENDPOINTS = frozenset({"/invocations", "/predict", "/ready", "/metadata"})
NO_VERSION_HEADER = (VERSION_HEADER, b"none")
NO_NAME_HEADER = (NAME_HEADER, b"")

logger = logging.getLogger("snaketrain.serving.service")


class BodyTooLarge(Exception):
    """More body bytes than the configured limit: 413."""


class Guard:
    """The middleware: direct maps a routed path to the plain ASGI function answering a POST there."""

    def __init__(self, app, service, direct):
        self.app, self.service, self.direct = app, service, direct

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, path = time.perf_counter(), scope["path"]
        follower, endpoint = route(self.service, scope)
        exchange = Exchange(self.service, scope, receive, send, _model_headers(follower, scope["snaketrain.served"]))
        try:
            await self._answer(scope, receive, exchange, path, follower)
        except Exception as problem:
            await self._failed(problem, scope, receive, exchange, path)
        finally:
            self.service.metrics.observe(endpoint, exchange.status, time.perf_counter() - start)

    async def _answer(self, scope, receive, exchange, path, follower):
        """Refuse the request before its body is read, or pass it on: a prediction endpoint's POST straight to its
        function, anything else to the app."""
        refusal = self._refusal(path, follower, exchange)
        if refusal is not None:
            return await refusal(scope, receive, exchange.send)
        handle = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        if handle is not None:
            await handle(self.service, scope, exchange.receive, exchange.send)
        else:
            await self.app(scope, exchange.receive, exchange.send)

    def _refusal(self, path, follower, exchange):
        """The answer to a request without the token, for a name not served or with a Content-Length that is not a
        number; None for one that may go on. Raises BodyTooLarge for a Content-Length over the limit."""
        service, length = self.service, exchange.length
        if service.token and path not in OPEN_PATHS and not _authorized(exchange.headers, service.token):
            response = answers.error(401, "UNAUTHENTICATED", "this service needs 'Authorization: Bearer <token>'")
            response.headers["www-authenticate"] = "Bearer"
            return response
        if follower is None:
            return answers.error(404, "RESOURCE_DOES_NOT_EXIST", "no model of that name is served here; see /metadata")
        if length is not None and not length.isdigit():
            return answers.error(400, "BAD_REQUEST", "the Content-Length header is not a number")
        if length is not None and int(length) > service.max_body_bytes:
            raise BodyTooLarge
        return None

    async def _failed(self, problem, scope, receive, exchange, path):
        """The answer to a request that raised: 413 for a body over the limit, 408 for a body that stopped coming,
        else a plain 500 (the traceback to the log). Nothing is sent once the response has started."""
        if not isinstance(problem, BodyTooLarge | TimeoutError):
            logger.error("unexpected failure answering %s %s", scope.get("method"), path, exc_info=problem)
        if exchange.started:
            return
        if isinstance(problem, BodyTooLarge):
            await self._too_large(scope, receive, exchange)
        elif isinstance(problem, TimeoutError):
            message = f"the body did not arrive within {self.service.read_timeout_s} s"
            response = answers.error(408, "REQUEST_TIMEOUT", message, headers={"connection": "close"})
            await response(scope, receive, exchange.send)
        else:
            response = answers.error(500, "INTERNAL_ERROR", "the service failed to answer this request; see its log")
            await response(scope, receive, exchange.send)

    async def _too_large(self, scope, receive, exchange):
        """413. A client that sends the whole body before reading (Python's urllib does) would get a connection
        reset if the server closed with the body unread: read and discard it, up to DRAIN_BYTES and within the read
        timeout, then answer; past that bound, answer and close the connection (HTTP/1.1, RFC 9112 9.6)."""
        service, length = self.service, exchange.length
        drained = exchange.body_done or (length is not None and int(length) > DRAIN_BYTES)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(service.read_timeout_s):
                read = 0
                while not drained and read <= DRAIN_BYTES:
                    message = await receive()
                    read += len(message.get("body", b""))
                    drained = message["type"] != "http.request" or not message.get("more_body", False)
        response = answers.error(
            413,
            "REQUEST_TOO_LARGE",
            f"the body is larger than this service takes ({service.max_body_bytes} bytes)",
            headers=None if drained else {"connection": "close"},
        )
        await response(scope, receive, exchange.send)


def route(service, scope):
    """(follower, endpoint label for the metrics) of a request, recorded in its scope with the version it runs on:
    /models/<name>/<endpoint> names a model and is routed as /<endpoint> (one route table for every name, matched
    by its first routes); any other path belongs to the first name; follower None for an unknown name."""
    path, routed = scope["path"], None
    if not path.startswith("/models/"):
        follower, endpoint = service.default, path if path in ENDPOINTS else "other"
    else:
        name, _, rest = path[len("/models/") :].partition("/")
        follower = service.followers.get(urllib.parse.unquote(name))
        if "/" + rest in MODEL_ENDPOINTS:
            endpoint, routed = "/models/{name}/" + rest, "/" + rest
        else:
            endpoint, routed = "other", "/not-found"
    scope["snaketrain.follower"], scope["snaketrain.served"] = follower, follower.current if follower else None
    scope["snaketrain.named"] = routed is not None
    if routed is not None:
        scope["path"] = routed
    return follower, endpoint


def _model_headers(follower, served):
    """The version and name headers every answer carries."""
    return (served.header if served else NO_VERSION_HEADER, follower.name_header if follower else NO_NAME_HEADER)


class Exchange:
    """One request's ASGI messages, watched: send adds the model headers and notes the status; receive bounds the
    body's size and how slowly it comes."""

    __slots__ = (
        "service",
        "_receive",
        "_send",
        "extra_headers",
        "headers",
        "length",
        "status",
        "started",
        "received",
        "body_done",
    )

    def __init__(self, service, scope, receive, send, extra_headers):
        self.service, self._receive, self._send, self.extra_headers = service, receive, send, extra_headers
        self.headers = dict(scope["headers"])
        self.length = self.headers.get(b"content-length")
        scope["snaketrain.content_type"] = self.headers.get(b"content-type", b"")
        self.status, self.started, self.received = 500, False, 0
        self.body_done = scope["method"] in ("GET", "HEAD")

    async def send(self, message):
        if message["type"] == "http.response.start":
            self.started, self.status = True, message["status"]
            message["headers"] = [*message.get("headers", ()), *self.extra_headers]
        await self._send(message)

    async def receive(self):
        # a client that stops sending mid-body is dropped after read_timeout_s: it holds no thread meanwhile
        message = await self.service.reads.receive(self._receive)
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)
            if self.received > self.service.max_body_bytes:
                raise BodyTooLarge
        return message


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
