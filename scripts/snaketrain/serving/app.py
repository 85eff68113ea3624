"""The ASGI app: a Starlette app on uvicorn, its endpoints behind the Guard middleware, one Follower per name served
watching its production pointer for as long as the app runs."""

import asyncio
import contextlib
import json
import logging
import os

from snaketrain.registry import inference
from snaketrain.serving import endpoints
from snaketrain.serving.follower import Follower
from snaketrain.serving.guard import Guard, ReadDeadlines
from snaketrain.serving.metrics import Metrics

TOKEN_ENV = "SNAKETRAIN_SERVE_TOKEN"
SETTINGS_ENV = "SNAKETRAIN_SERVE_SETTINGS"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_POLL_SECONDS = 0.5
DEFAULT_MAX_ROWS = 10_000
DEFAULT_READ_TIMEOUT_S = 10.0

logger = logging.getLogger("snaketrain.serving.service")


class Service:
    """Settings and state shared by the handlers of one app: one Follower per name served, the metrics, and the
    input sample when one is kept (monitoring's opt-in --input-sample: a Reservoir of the rows answered)."""

    def __init__(
        self,
        root,
        names=(None,),
        engine="auto",
        max_body_bytes=DEFAULT_MAX_BODY_BYTES,
        token=None,
        max_rows=DEFAULT_MAX_ROWS,
        read_timeout_s=DEFAULT_READ_TIMEOUT_S,
        sample=None,
    ):
        from prometheus_client import CollectorRegistry

        self.followers = {name: Follower(root, name, engine) for name in names}
        self.default = next(iter(self.followers.values()))
        self.max_body_bytes, self.max_rows, self.read_timeout_s = max_body_bytes, max_rows, read_timeout_s
        self.token = token or None
        self.sample = sample
        self.reads = ReadDeadlines(read_timeout_s)
        self.metrics = Metrics(self.followers)
        # an app's own registry, so that tests can build several apps in one process
        self.registry = CollectorRegistry()
        self.registry.register(self.metrics)


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
    input_sample=None,
):
    """The ASGI app serving the production version of each name (names, else name) in the registry at
    registry_root; the first name also answers at the plain paths."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    service = Service(
        registry_root, names or (name,), engine, max_body_bytes, token, max_rows, read_timeout_s, input_sample
    )
    guard = Middleware(Guard, service=service, direct=endpoints.DIRECT)
    app = Starlette(routes=endpoints.routes(), middleware=[guard], lifespan=_lifespan(service, poll_seconds))
    app.state.service = service
    return app


def _lifespan(service, poll_seconds):
    """Load every name's production version before the first request, then follow the pointers until shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        followers = list(service.followers.values())
        await asyncio.gather(*(asyncio.to_thread(follower.refresh) for follower in followers))
        if not endpoints.all_ready(service):
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

    return lifespan


def app_from_env():
    """The app for uvicorn's workers: settings from SNAKETRAIN_SERVE_SETTINGS, the token from its own variable."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    sample = settings.pop("input_sample", None)
    if sample:
        settings["input_sample"] = input_sample(settings["registry_root"], settings["names"][0], sample)
    return create_app(token=os.environ.get(TOKEN_ENV), **settings)


def input_sample(root, name, sample):
    """The Reservoir keeping a uniform sample of the rows answered for name (sample: {"path", "size"})."""
    from snaketrain.monitoring.reservoir import Reservoir

    # the first name's input columns: the one served at /invocations
    columns = inference.load_production(root, name).input_schema["columns"]
    return Reservoir(sample["path"], sample["size"], list(columns))
