"""The service's own cost without HTTP: snaketrain-serve's ASGI app against bench/serve_bare.py's, called in process
on the same 1-row (or --rows) MLflow request, so that uvicorn, sockets and the load generator drop out of the
comparison. CPU time (time.process_time) a request, the least of 9 batches (the shared machine's load only adds).

    python bench/serve_asgi.py                      # the three generated tables of bench/serve.py
    python bench/serve_asgi.py --rows 100 --tables mixed_hgb
"""

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

# bench/ is on sys.path: these scripts run as `python bench/<name>.py`
import serve  # noqa: E402  (bench/serve.py: the generated tables)
import serve_bare  # noqa: E402


def scope(path, body):
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http"} | {
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


async def call(app, path, body):
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope(path, body), receive, send)
    return sent


async def cpu_us(app, path, body, n, batches=9):
    for _ in range(100):  # warm-up
        sent = await call(app, path, body)
    assert sent[0]["status"] == 200, sent
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(n):
            await call(app, path, body)
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


async def startup(app):
    """Run the app's lifespan startup (loads every name's production version); the task stays alive."""
    messages, answers = asyncio.Queue(), asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, answers.put))
    assert (await answers.get())["type"] == "lifespan.startup.complete"
    return task


async def measure(root, names, tests, rows):
    from snaketrain.serving.app import create_app

    app = create_app(root, names=names)
    lifespan = await startup(app)
    for name in names:
        body = json.dumps({"dataframe_split": json.loads(tests[name].head(rows).to_json(orient="split", index=False))})
        body = body.encode()
        path = "/invocations" if name == names[0] else f"/models/{name}/invocations"
        bare = serve_bare.create_app(root, name)
        n = 2000 if rows == 1 else 200
        ours, theirs = await cpu_us(app, path, body, n), await cpu_us(bare, "/invocations", body, n)
        print(
            f"{name}, {rows} rows: service {ours:.1f} us, bare {theirs:.1f} us a request ({100 * (ours / theirs - 1):+.1f}%)"
        )
    lifespan.cancel()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    tables = [name for name in serve.TABLES if name != "numeric"]
    parser.add_argument("--tables", nargs="+", default=tables[:3], choices=tables)
    parser.add_argument("--rows", type=int, default=1)
    args = parser.parse_args()
    import uvloop

    from snaketrain.registry import model_registry

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch, root = Path(scratch_name), Path(scratch_name) / "registry"
        models, tests = serve.generated_models(), {}
        for name in args.tables:
            factory, task = models[name]
            version, tests[name] = serve.publish_generated(root, scratch, name, factory(0), task)
            model_registry.promote(root, version, name)
        uvloop.run(measure(root, args.tables, tests, args.rows))


if __name__ == "__main__":
    main()
