"""Serving benchmark: snaketrain-serve against `mlflow models serve` on the same registered version.

It runs the breast-cancer pipeline with StandardScaler + LogisticRegression (bench/serve.yaml) in a scratch copy
of the project (or takes --registry), saves the production version's Pipeline as an MLflow model, and starts
three servers on loopback ports, one worker each:

  mlflow     `mlflow models serve -m <model> --env-manager local` (MLflow 3.17, requirements-mlflow.txt)
  bare       bench/serve_bare.py: one Starlette route on the service's prediction path, without its checks
  snaketrain `snaketrain-serve` (token, body-size and input checks, version header, metrics, pointer watcher)

The same load generator (below: asyncio, HTTP/1.1 keep-alive, CLIENTS connections, each sending the next request
when the answer to the previous one is in) drives each in turn with the same bytes: MLflow's dataframe_split of 1
and of 100 test rows, SECONDS per measurement after a short warm-up, every loop bounded in requests and in time.
The servers are measured one after another in one run, so the ratios compare like with like on a shared machine;
the load average is recorded before and after. It also times one call of the prediction paths in-process.

Results go to bench/serve-results.json and a table to bench/README.md (between the serve-table markers).

    python bench/serve.py                      # = make bench-serve
    python bench/serve.py --seconds 5 --registry registry --no-readme
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PARTS = ("workflow", "scripts", "config", "profiles")
RESULTS = ROOT / "bench" / "serve-results.json"
README = ROOT / "bench" / "README.md"
MARKERS = ("<!-- serve-table -->", "<!-- /serve-table -->")
BENCH_CONFIG = "models: [logistic_regression]\n"
ROWS = (1, 100)
SERVERS = ("mlflow", "bare", "snaketrain")
LABELS = {
    "mlflow": "`mlflow models serve --env-manager local` (MLflow 3.17)",
    "bare": "bare handler, same prediction path (bench/serve_bare.py)",
    "snaketrain": "`snaketrain-serve` (every check on)",
}
MAX_REQUESTS = 2_000_000  # per measurement; the time bound ends it first
REQUEST_TIMEOUT_S = 30
WARMUP_S = 2
TARGET_THROUGHPUT = 10.0  # x mlflow
TARGET_P99 = 0.1  # x mlflow
TARGET_CHECK_COST = 0.10  # throughput lost against the bare handler


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_registry(scratch):
    """A registry whose production version is the breast-cancer StandardScaler + LogisticRegression pipeline."""
    project = scratch / "project"
    for part in PROJECT_PARTS:
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "config" / "bench-serve.yaml").write_text(BENCH_CONFIG)
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/bench-serve.yaml"]
    subprocess.run(command, cwd=project, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return project / "registry", project / "results" / "split" / "test.parquet"


def save_mlflow_model(loaded, sample, path):
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from snaketrain.serving.fast_path import sklearn_pipeline

    shutil.rmtree(path, ignore_errors=True)  # a --scratch folder kept from an earlier run
    pipeline = sklearn_pipeline(loaded)
    signature = infer_signature(sample, pipeline.predict(sample))
    # MLflow 3.17 stores scikit-learn models with skops, which asks which non-estimator types to trust: every
    # type in this Pipeline is the registry version's own (loaded safely by inference)
    import skops.io

    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    mlflow.sklearn.save_model(pipeline, str(path), signature=signature, skops_trusted_types=trusted)


class Process:
    def __init__(self, command, port, log_path, ready_path, env=None):
        self.port, self.log_path = port, log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{command[0]} exited early; see {log_path}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {ready_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
            time.sleep(0.3)
        raise SystemExit(f"{command} did not get ready in time; see {log_path}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def http_request(body):
    head = (
        "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def drive(port, request, clients, seconds, max_requests=MAX_REQUESTS):
    """CLIENTS keep-alive connections sending `request` back to back for `seconds` (and at most max_requests in
    all); returns the latency of every answered request and the failures (errors, timeouts, non-200 answers)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    latencies, failures, sent = [], [], [0]

    async def client():
        reader = writer = None
        while loop.time() < deadline and sent[0] < max_requests:
            sent[0] += 1
            start = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, IndexError) as e:
                failures.append(repr(e))
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            if not head.startswith(b"HTTP/1.1 200"):
                failures.append(head.split(b"\r\n", 1)[0].decode())
                continue
            latencies.append(time.perf_counter() - start)
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, failures, time.perf_counter() - began


def cpu_seconds(pid):
    """User + system CPU time of a process and its descendants (mlflow serves from a child uvicorn)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def measure(port, body, clients, seconds, pid):
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(drive(port, http_request(body), clients, min(WARMUP_S, seconds)))
        cpu_before = cpu_seconds(pid)
        latencies, failures, elapsed = runner.run(drive(port, http_request(body), clients, seconds))
        cpu = cpu_seconds(pid) - cpu_before
    latencies.sort()

    def percentile(q):
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None

    return {
        "requests": len(latencies),
        "failures": len(failures),
        "failure_examples": sorted(set(failures))[:3],
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(0.50), 2) if latencies else None,
        "p99_ms": round(percentile(0.99), 2) if latencies else None,
        # the server's own CPU time per answered request: what it costs, little moved by the machine's load
        "server_cpu_ms": round(1000 * cpu / len(latencies), 4) if latencies else None,
    }


def in_process(loaded, df, repeats=300):
    """Median ms of one call: scikit-learn's Pipeline on a DataFrame, and the service's fast path on an array."""
    import numpy as np

    from snaketrain.serving import fast_path

    pipeline = fast_path.sklearn_pipeline(loaded)
    predictor = fast_path.build(loaded)
    columns = list(loaded.input_schema["columns"])

    def median_ms(call):
        call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return round(1000 * statistics.median(times), 3)

    result = {"engine": predictor.engine}
    for n in ROWS:
        rows = df.head(n)
        matrix = rows[columns].to_numpy(np.float64)
        result[f"sklearn_pipeline_ms_{n}"] = median_ms(lambda rows=rows: pipeline.predict(rows))
        result[f"fast_path_ms_{n}"] = median_ms(lambda matrix=matrix: predictor.predict_matrix(matrix))
    return result


def median_cell(cells):
    """The round with the median throughput (its latencies with it), the median CPU per request, and every
    round's failures."""
    cell = dict(sorted(cells, key=lambda c: c["rps"])[len(cells) // 2])
    cell["failures"] = sum(c["failures"] for c in cells)
    cell["server_cpu_ms"] = statistics.median(c["server_cpu_ms"] for c in cells if c["server_cpu_ms"] is not None)
    cell["rounds"] = len(cells)
    return cell


def fmt(cell):
    if not cell["requests"]:
        return "no answers"
    text = f"{cell['rps']:.0f} req/s, p50 {cell['p50_ms']:.1f} ms, p99 {cell['p99_ms']:.1f} ms"
    text += f"; server CPU {cell['server_cpu_ms']:.2f} ms a request"
    return text + (f", **{cell['failures']} failed**" if cell["failures"] else "")


def verdicts(results):
    """(text, met) per target, from one run's numbers."""
    out = []
    for n in ROWS:
        ours, mlflow, bare = (results["load"][server][str(n)] for server in ("snaketrain", "mlflow", "bare"))
        throughput = ours["rps"] / mlflow["rps"] if mlflow["rps"] else float("inf")
        p99 = ours["p99_ms"] / mlflow["p99_ms"] if mlflow["p99_ms"] else float("nan")
        cost = ours["server_cpu_ms"] / bare["server_cpu_ms"] - 1
        lost = 1 - ours["rps"] / bare["rps"] if bare["rps"] else float("nan")
        out.append(
            (
                f"{n}-row: throughput {throughput:.1f}x mlflow (target >= {TARGET_THROUGHPUT:.0f}x)",
                throughput >= TARGET_THROUGHPUT,
            )
        )
        out.append((f"{n}-row: p99 {p99:.3f}x mlflow (target <= {TARGET_P99}x)", p99 <= TARGET_P99))
        out.append(
            (
                f"{n}-row: every check costs {100 * cost:+.1f}% server CPU a request against the bare handler "
                f"(target <= {100 * TARGET_CHECK_COST:.0f}%; throughput {100 * -lost:+.1f}%, noisier on a shared machine)",
                cost <= TARGET_CHECK_COST,
            )
        )
        failed = sum(results["load"][server][str(n)]["failures"] for server in SERVERS)
        out.append((f"{n}-row: failed requests {failed} (target 0)", failed == 0))
    return out


def table(results):
    lines = ["| server | 1-row requests | 100-row requests |", "|---|---|---|"]
    for server in SERVERS:
        cells = [fmt(results["load"][server][str(n)]) for n in ROWS]
        lines.append(f"| {LABELS[server]} | {cells[0]} | {cells[1]} |")
    proc = results["in_process"]
    lines.append(
        f"| in-process scikit-learn `Pipeline.predict` on a DataFrame | {proc['sklearn_pipeline_ms_1']} ms a call | "
        f"{proc['sklearn_pipeline_ms_100']} ms a call |"
    )
    lines.append(
        f"| in-process fast path ({proc['engine']}, float array) | {proc['fast_path_ms_1']} ms a call | "
        f"{proc['fast_path_ms_100']} ms a call |"
    )
    lines.append("")
    lines += [f"- {'met' if met else '**not met**'}: {text}" for text, met in verdicts(results)]
    load = results["load_average"]
    lines.append(
        f"- machine: {results['machine']['cpus']} CPUs, load average {load['before'][0]:.2f} before and "
        f"{load['after'][0]:.2f} after (1 min); {results['clients']} clients, {results['seconds']} s per cell, "
        f"median of {results['rounds_per_cell']} rounds; one client process; measured {results['measured_at']}"
    )
    lines.append(f"- command: `{results['command']}`")
    return "\n".join(lines)


def write_readme(text):
    readme = README.read_text()
    start, end = MARKERS
    block = f"{start}\n{text}\n{end}"
    if start in readme:
        before, rest = readme.split(start, 1)
        readme = before + block + rest.split(end, 1)[1]
    else:
        readme = readme.rstrip("\n") + "\n\n## Serving: snaketrain-serve against mlflow models serve\n\n" + block + "\n"
    README.write_text(readme)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell; the median round is reported")
    parser.add_argument("--registry", help="an existing registry (default: run the pipeline in --scratch)")
    parser.add_argument("--rows", help="Parquet or CSV file of rows to send (default: the run's test split)")
    parser.add_argument("--scratch", help="work folder (default: a temporary one, deleted afterwards)")
    parser.add_argument("--no-readme", action="store_true", help="print the table, leave bench/README.md alone")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON results go")
    args = parser.parse_args(argv)

    import pandas as pd

    from snaketrain.registry import inference, model_registry

    scratch_ctx = contextlib.nullcontext(args.scratch) if args.scratch else tempfile.TemporaryDirectory()
    with scratch_ctx as scratch_name:
        scratch = Path(scratch_name)
        scratch.mkdir(parents=True, exist_ok=True)
        if args.registry:
            registry_root, rows_path = Path(args.registry), args.rows
        else:
            print("running the pipeline for a registered version ...", file=sys.stderr)
            registry_root, rows_path = build_registry(scratch)
        # the registered model name: the only one in a registry the benchmark built, else the first
        name = model_registry.names(registry_root)[0]
        loaded = inference.load_production(registry_root, name, stage="bench")
        target = loaded.input_schema["target"]
        rows = pd.read_parquet(rows_path) if str(rows_path).endswith(".parquet") else pd.read_csv(rows_path)
        rows = rows.drop(columns=[target], errors="ignore")
        rows = pd.concat([rows] * (1 + max(ROWS) // len(rows)), ignore_index=True)
        save_mlflow_model(loaded, rows.head(5), scratch / "mlflow-model")
        bodies = {
            n: json.dumps({"dataframe_split": json.loads(rows.head(n).to_json(orient="split", index=False))}).encode()
            for n in ROWS
        }

        bin_dir = Path(sys.executable).parent
        ports = {server: free_port() for server in SERVERS}
        commands = {
            "mlflow": (
                [
                    str(bin_dir / "mlflow"),
                    "models",
                    "serve",
                    "-m",
                    str(scratch / "mlflow-model"),
                    "--env-manager",
                    "local",
                    "--host",
                    "127.0.0.1",
                    "-p",
                    str(ports["mlflow"]),
                    "--workers",
                    "1",
                ],
                "/ping",
            ),
            "bare": (
                [
                    sys.executable,
                    str(ROOT / "bench" / "serve_bare.py"),
                    "--registry",
                    str(registry_root),
                    "--port",
                    str(ports["bare"]),
                    "--name",
                    name,
                ],
                "/health",
            ),
            "snaketrain": (
                [
                    str(bin_dir / "snaketrain-serve"),
                    "--registry",
                    str(registry_root),
                    "--port",
                    str(ports["snaketrain"]),
                    "--workers",
                    "1",
                    "--name",
                    name,
                ],
                "/ready",
            ),
        }
        processes = {}
        results = {"load": {server: {} for server in SERVERS}}
        try:
            for server, (command, ready_path) in commands.items():
                print(f"starting {server} ...", file=sys.stderr)
                log = scratch / f"{server}.log"
                # mlflow starts `uvicorn` from PATH: the one of this environment
                env = {"SNAKETRAIN_SERVE_TOKEN": "", "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
                processes[server] = Process(command, ports[server], log, ready_path, env=env)
            results["load_average"] = {"before": os.getloadavg()}
            rounds = {server: {n: [] for n in ROWS} for server in SERVERS}
            for round_index in range(args.rounds):
                # the order turns each round, so that load drift on the shared machine hits every server alike
                order = SERVERS[round_index % len(SERVERS) :] + SERVERS[: round_index % len(SERVERS)]
                for n in ROWS:
                    for server in order:
                        cell = measure(
                            ports[server], bodies[n], args.clients, args.seconds, processes[server].process.pid
                        )
                        rounds[server][n].append(cell)
                        print(f"round {round_index + 1} {server:>10} {n:>3} rows: {fmt(cell)}", file=sys.stderr)
            results["load_average"]["after"] = os.getloadavg()
            for server in SERVERS:
                for n in ROWS:
                    results["load"][server][str(n)] = median_cell(rounds[server][n])
            results["rounds"] = {
                server: {str(n): cells for n, cells in by_n.items()} for server, by_n in rounds.items()
            }
        finally:
            for process in processes.values():
                process.stop()
        results["in_process"] = in_process(loaded, rows)

    results.update(
        clients=args.clients,
        rounds_per_cell=args.rounds,
        seconds=args.seconds,
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        command="make bench-serve"
        if not argv and len(sys.argv) == 1
        else "python bench/serve.py " + " ".join(argv or sys.argv[1:]),
    )
    text = table(results)
    Path(args.results).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(text)
    if not args.no_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
