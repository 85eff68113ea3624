"""The reference of bench/serve.py: a bare handler on the service's prediction path, without its checks.

One Starlette route, POST /invocations, reading MLflow's dataframe_split: the same parsing (orjson),
the same fast path (feeds.rows_feeds and the version's ONNX Runtime sessions) and the same JSON answer as
snaketrain-serve, on the same uvicorn settings, and the same choice of where a call runs (on the event loop when the
fast path was timed to score that many rows within a millisecond, else in a worker thread), but no token or
body-size check, no version header, no metrics, no watcher on the production pointer, no fallback for rows the fast
path does not take. What snaketrain-serve costs over this is the cost of its checks.

    python bench/serve_bare.py --registry registry --port 8081
"""

import argparse
import asyncio

import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from snaketrain.registry import inference
from snaketrain.serving import fast_path
from snaketrain.serving.feeds import rows_feeds


def create_app(registry_root, name=None):
    loaded = inference.load_production(registry_root, name, stage="bench")
    predictor = fast_path.build(loaded)
    if not predictor.fast:
        raise SystemExit(f"the version is not served by the fast path: {predictor.fallback_reason}")

    async def invocations(request):
        split = orjson.loads(await request.body())["dataframe_split"]
        feeds = rows_feeds(predictor.plan, split["columns"], split["data"])
        if len(split["data"]) <= predictor.inline_rows:
            labels, _ = predictor.predict_feeds(feeds)
        else:
            labels, _ = await asyncio.to_thread(predictor.predict_feeds, feeds)
        labels = labels if labels.dtype.kind in "biuf" else labels.tolist()
        answer = orjson.dumps({"predictions": labels}, option=orjson.OPT_SERIALIZE_NUMPY)
        return Response(answer, media_type="application/json")

    async def health(request):
        return Response(b"{}")

    routes = [Route("/invocations", invocations, methods=["POST"]), Route("/health", health, methods=["GET"])]
    return Starlette(routes=routes)


def main():
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", required=True)
    parser.add_argument("--name")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.registry, args.name), host="127.0.0.1", port=args.port, access_log=False)


if __name__ == "__main__":
    main()
