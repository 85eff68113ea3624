"""The model service's command: the production version of each registered name answering HTTP, following
promotions.

    snaketrain-serve --registry registry --port 8080        (or: make serve)

Endpoints (docs/serving.md): POST /invocations (MLflow's scoring protocol), POST /predict (records in,
predictions and class probabilities out), GET /ping and /version (as `mlflow models serve` answers them), /health,
/ready, /metadata, /metrics (Prometheus). Several names from one process (--name repeated, or --all): each at
/models/<name>/invocations, /predict, /ready and /metadata, the first also at the plain paths. Every response
carries the served version in the X-Model-Version header.

The serving package, by job: payloads (request bodies into rows), follower (the version served, following the
production pointer), scoring (rows to predictions, checked), metrics (Prometheus), guard (the middleware: routing,
token, body limits and timeouts, metrics, 500s), answers (JSON responses), endpoints and app (the Starlette app);
fast_path with plan, feeds, conversion, agreement and converters (the pipeline run by ONNX Runtime); this module
(the command line and the workflow config it reads its defaults from).
"""

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from snaketrain.layout import registered_name
from snaketrain.registry import model_registry as registry
from snaketrain.serving.app import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_ROWS,
    DEFAULT_POLL_SECONDS,
    DEFAULT_READ_TIMEOUT_S,
    SETTINGS_ENV,
    TOKEN_ENV,
)

logger = logging.getLogger("snaketrain.serving.service")


def config_defaults(config_path="config/config.yaml"):
    """(registry path, model name) from the workflow's config, as `make run` used them; (None, None) without one."""
    import yaml

    path = Path(config_path)
    if not path.is_file():
        return None, None
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return (config.get("registry") or {}).get("path"), registered_name(config)


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
    root, names, settings = settings_of(args)
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
        "snaketrain.serving.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=30,
    )
    return 0


def settings_of(args):
    """(registry folder, names served, the app's settings) of the command's arguments and the config's defaults."""
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
    return root, names, settings


if __name__ == "__main__":
    sys.exit(main())
