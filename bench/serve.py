"""Serving benchmark: snaketrain-serve against `mlflow models serve` on the same registered versions.

Eight tables, each a registered name in one registry (it runs the pipeline in a scratch copy of the project for the
first, or takes --registry, and fits the others as build_features and train_model would):

  numeric           breast cancer, StandardScaler + LogisticRegression (the pipeline's run, bench/serve.yaml)
  mixed_forest      5,000 generated rows with text columns and missing values; a 200-tree random forest
  mixed_hgb         the same table; histogram gradient boosting
  mixed_regression  a regression on a table with text columns and missing values; ridge
  mixed_forest_regression  the same regression; a 200-tree random forest (served in double by ONNX Runtime)
  mixed_xgboost     the classification table; XGBoost, 300 trees of depth 6 (make setup-boost)
  mixed_lightgbm_regression  the regression table; LightGBM, 300 trees (make setup-boost)
  users_dates_text  a churn table with a date, a many-valued zip code and free text; logistic regression
                    (calendar features and TF-IDF computed in Python around the ONNX graph)

Without xgboost or lightgbm, the default list leaves their table out (and says so).

For each table three servers on loopback ports, one worker each, get the same bytes:

  mlflow     `mlflow models serve -m <the version's MLflow directory> --env-manager local` (MLflow 3.17)
  bare       bench/serve_bare.py: one Starlette route on the service's fast path, without its checks
  snaketrain one `snaketrain-serve` process serving the names (token, body-size, row and input checks,
             version header, metrics, pointer watchers): /invocations for the first, /models/<name>/invocations

The load generator (below: asyncio, HTTP/1.1 keep-alive, CLIENTS connections, each sending the next request when
the answer to the previous one is in) sends MLflow's dataframe_split of 1 and of 100 test rows, SECONDS per
measurement after a short warm-up, every loop bounded in requests and in time; rounds turn the servers' order.
Then, with two names served at once under load, each name's production moves twice (to a second version and
back): every failed request is counted. It also times the prediction paths in process.

Results go to bench/serve-results.json, merged per table: a run replaces the tables it measured (and the swap, when
it moved production) and keeps the others, each with the run that measured it. The table in bench/README.md (between
the serve-table markers) is written from that file, so it shows every table published.

    python bench/serve.py                      # = make bench-serve
    python bench/serve.py --seconds 5 --rounds 3 --no-readme
"""

import argparse
import asyncio
import contextlib
import importlib
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
WARMUP_TRIES = 5
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


TABLES = (
    "numeric",
    "mixed_forest",
    "mixed_hgb",
    "mixed_regression",
    "mixed_forest_regression",
    "mixed_xgboost",
    "mixed_lightgbm_regression",
    "users_dates_text",
)
BOOSTED = {"mixed_xgboost": "xgboost", "mixed_lightgbm_regression": "lightgbm"}  # the library (make setup-boost)
GENERATED_ROWS = 5000
SWAP_NAMES = ("mixed_forest", "mixed_hgb")
SWAP_SECONDS = 12


def mixed_table(n, seed, task):
    """Rows as users bring them: numbers with gaps, text columns (one with rare categories) with gaps."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cities = ["paris", "lyon", "nice", "lille", "metz", "brest", "caen", "pau"]
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(),
            "income": rng.lognormal(10, 1, n).round(2),
            "tenure": rng.integers(0, 120, n).astype(float),
            "visits": rng.poisson(3, n).astype(float),
            "city": rng.choice(cities, n, p=[0.3, 0.25, 0.15, 0.1, 0.08, 0.06, 0.04, 0.02]),
            "plan": rng.choice(["free", "pro", "team", "enterprise"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "channel": rng.choice(["web", "app", "shop"], n),
        }
    )
    for column, share in (("age", 0.08), ("income", 0.05), ("city", 0.07), ("plan", 0.03)):
        df.loc[rng.random(n) < share, column] = np.nan if df[column].dtype.kind == "f" else None
    score = (
        (df["age"].fillna(40) - 40) / 12
        + np.log(df["income"].fillna(20000))
        - 10
        + (df["city"] == "paris") * 0.8
        + (df["plan"] == "pro") * 0.6
        - (df["channel"] == "shop") * 0.5
        + df["visits"] * 0.1
    )
    noise = rng.normal(0, 0.8, n)
    df["target"] = (score + noise).round(4) if task == "regression" else (score + noise > 0.3).astype(int)
    return df


def users_table(n, seed):
    """A churn table as users have them (issue 24): a signup date written day first, a zip code of 800 values with
    leading zeros (target-encoded), a free-text comment (TF-IDF), a plan and usage with gaps."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    codes = np.array([f"{code:05d}" for code in rng.choice(40000, 800, replace=False)])
    zip_code = codes[rng.integers(0, len(codes), n)]
    words = np.array(["great", "slow", "price", "support", "app", "team", "login", "report", "fast", "bill", "cancel"])
    comment = [" ".join(words[rng.integers(0, len(words), rng.integers(3, 10))]) for _ in range(n)]
    usage = rng.gamma(2.0, 10.0, n).round(2)
    score = (
        np.isin(signup.month, [11, 12, 1]) * 1.5
        + (np.char.count(np.array(comment), "cancel") > 0) * 1.5
        + np.isin(zip_code, codes[::3]) * 1.5
        + usage * 0.02
        + rng.normal(0, 0.6, n)
    )
    df = pd.DataFrame(
        {
            "signup": signup.strftime("%d/%m/%Y"),
            "zip": zip_code,
            "comment": comment,
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "usage": usage,
            "target": (score > np.median(score)).astype(int),
        }
    )
    df.loc[rng.random(n) < 0.05, "usage"] = np.nan
    df.loc[rng.random(n) < 0.03, "comment"] = None
    return df


USERS_TABLES = {"users_dates_text"}
# city keeps one-hot encoding (with its rare categories folded), as the benchmark was designed to measure
MIXED_SETTINGS = {
    "drop": [],
    "numeric_imputer": "median",
    "scale": True,
    "max_categories": 6,
    "encoding": {"city": "onehot"},
}
USERS_SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20, "text": ["comment"]}


def publish_generated(root, scratch, name, model, task, seed=0):
    """Fit the preprocessor (as build_features) and the model (as train_model) on a generated table, register the
    Pipeline under name and promote it; returns (version, test rows without the target)."""
    from snaketrain.estimators import library_version
    from snaketrain.registry import inference, model_registry
    from snaketrain.stages.build_features import fit_transform

    df = users_table(GENERATED_ROWS, seed) if name in USERS_TABLES else mixed_table(GENERATED_ROWS, seed, task)
    train, test = df.iloc[: int(0.8 * len(df))], df.iloc[int(0.8 * len(df)) :]
    settings = USERS_SETTINGS if name in USERS_TABLES else MIXED_SETTINGS
    preprocessor, features, _, schema = fit_transform(train, test, "target", settings)
    model.fit(features.drop(columns="target"), train["target"])
    path = scratch / f"{name}-{seed}.skops"
    estimator = f"{type(model).__module__}.{type(model).__name__}"  # its family's trusted types, as register_model
    library = estimator.split(".")[0]
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), path, inference.trusted_types(estimator))
    metadata = {
        "model": type(model).__name__,
        "estimator": {"estimator": estimator},
        "estimator_library": {"name": library, "version": library_version(library)},  # as register_model
        "task": task,
        "metrics": {},
        "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")},
    }
    version, _ = model_registry.publish(root, {"pipeline.skops": path}, metadata, name)
    return version, test.drop(columns="target")


def generated_models():
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    return {
        "mixed_forest": (lambda seed: RandomForestClassifier(200, random_state=seed, n_jobs=2), "binary"),
        "mixed_hgb": (lambda seed: HistGradientBoostingClassifier(max_iter=100, random_state=seed), "binary"),
        "mixed_regression": (lambda seed: Ridge(alpha=1.0 + seed), "regression"),
        "mixed_forest_regression": (lambda seed: RandomForestRegressor(200, random_state=seed, n_jobs=2), "regression"),
        "mixed_xgboost": (xgboost_classifier, "binary"),
        "mixed_lightgbm_regression": (lightgbm_regressor, "regression"),
        "users_dates_text": (lambda seed: LogisticRegression(C=1.0 + seed, max_iter=1000), "binary"),
    }


def xgboost_classifier(seed):
    from xgboost import XGBClassifier  # the catalogue's defaults (estimators.py), one thread

    return XGBClassifier(n_estimators=300, max_depth=6, tree_method="hist", verbosity=0, n_jobs=1, random_state=seed)


def lightgbm_regressor(seed):
    from lightgbm import LGBMRegressor

    return LGBMRegressor(n_estimators=300, verbose=-1, n_jobs=1, random_state=seed)


def missing_library(table_name):
    """The library a table needs that does not import here (xgboost, lightgbm: make setup-boost), or None."""
    library = BOOSTED.get(table_name)
    if library:
        try:
            importlib.import_module(library)
        except (ImportError, OSError):  # OSError: LightGBM without its OpenMP library
            return library
    return None


def mlflow_dir(root, name, rows):
    """The version's MLflow model directory as the mirror writes it (versions/<id>/mlflow/)."""
    from snaketrain.registry import model_registry
    from snaketrain.tracking.mlflow_mirror import write_mlflow_model

    version = model_registry.production(root, name)["version"]
    return write_mlflow_model(root, version, name, rows)


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


def http_request(body, path="/invocations"):
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
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


def measure(port, body, clients, seconds, pid, path="/invocations"):
    import uvloop

    request = http_request(body, path)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for _ in range(WARMUP_TRIES):  # until the server has answered once (a first request may load the model)
            warm, _, _ = runner.run(drive(port, request, clients, min(WARMUP_S, seconds)))
            if warm:
                break
        cpu_before = cpu_seconds(pid)
        latencies, failures, elapsed = runner.run(drive(port, request, clients, seconds))
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


def median_ms(call, repeats):
    """Milliseconds a call takes, the median of `repeats` after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def in_process(loaded, df, repeats=300):
    """Median ms of one call: scikit-learn's Pipeline on a DataFrame, and the service's fast path from the JSON
    values (feeds built from dataframe_split rows, then ONNX Runtime), as the service calls it."""
    from snaketrain.serving import fast_path
    from snaketrain.serving.feeds import rows_feeds

    pipeline = loaded.pipeline
    predictor = fast_path.build(loaded)
    columns = list(pipeline.feature_names_in_)

    def timed(call):
        return round(median_ms(call, repeats), 3)

    result = {"engine": predictor.engine, "engine_note": predictor.fallback_reason}
    for n in ROWS:
        rows = df.head(n)
        split = json.loads(rows.to_json(orient="split", index=False))
        result[f"sklearn_pipeline_ms_{n}"] = timed(lambda rows=rows: pipeline.predict(rows[columns]))
        if predictor.fast:

            def call(split=split):
                return predictor.predict_feeds(rows_feeds(predictor.plan, split["columns"], split["data"]))

            result[f"fast_path_ms_{n}"] = timed(call)
    return result


def swap_under_load(port, root, bodies, clients, pid):
    """Load on SWAP_NAMES at once while each name's production moves to its second version and back; the
    failures, answers and versions seen per name."""
    import threading

    import uvloop

    from snaketrain.registry import model_registry

    versions = {name: [v["version"] for v in model_registry.registered_versions(root, name)] for name in SWAP_NAMES}
    first = {name: model_registry.production(root, name)["version"] for name in SWAP_NAMES}
    second = {name: next(v for v in versions[name] if v != first[name]) for name in SWAP_NAMES}
    results = {}

    def load(name):
        request = http_request(bodies[name][1], f"/models/{name}/invocations")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            latencies, failures, elapsed = runner.run(drive(port, request, clients // 2, SWAP_SECONDS))
        results[name] = {"requests": len(latencies), "failures": len(failures), "examples": sorted(set(failures))[:3]}

    threads = [threading.Thread(target=load, args=(name,)) for name in SWAP_NAMES]
    for thread in threads:
        thread.start()
    moves = 0
    for target in (second, first):
        time.sleep(SWAP_SECONDS / 3)
        for name in SWAP_NAMES:
            model_registry.promote(root, target[name], name)
            moves += 1
    for thread in threads:
        thread.join()
    return {"names": list(SWAP_NAMES), "moves": moves, "per_name": results}


def median_cell(cells):
    """The round with the median throughput (its latencies with it), the median CPU per request, and every
    round's failures."""
    cell = dict(sorted(cells, key=lambda c: c["rps"])[len(cells) // 2])
    cell["failures"] = sum(c["failures"] for c in cells)
    # A round with no answers (a server still warming up under a short --seconds) measured no CPU per request.
    measured = [c["server_cpu_ms"] for c in cells if c["server_cpu_ms"] is not None]
    cell["server_cpu_ms"] = statistics.median(measured) if measured else None
    cell["rounds"] = len(cells)
    return cell


def fmt(cell):
    if not cell["requests"]:
        examples = "; ".join(cell.get("failure_examples", []))
        return f"no answers ({cell['failures']} failed{': ' + examples if examples else ''})"
    text = f"{cell['rps']:.0f} req/s, p50 {cell['p50_ms']:.1f} ms, p99 {cell['p99_ms']:.1f} ms"
    text += f"; server CPU {cell['server_cpu_ms']:.2f} ms a request"
    return text + (f", **{cell['failures']} failed**" if cell["failures"] else "")


def verdicts(results, table_name):
    """(text, met) per target, from one table's numbers."""
    out = []
    load = results["tables"][table_name]["load"]
    for n in ROWS:
        ours, mlflow, bare = (load[server][str(n)] for server in ("snaketrain", "mlflow", "bare"))
        if not ours["requests"] or not mlflow["requests"]:
            out.append((f"{n}-row: a server answered nothing", False))
            continue
        throughput = ours["rps"] / mlflow["rps"] if mlflow["rps"] else float("inf")
        p99 = ours["p99_ms"] / mlflow["p99_ms"] if mlflow["p99_ms"] else float("nan")
        out.append(
            (
                f"{n}-row: throughput {throughput:.1f}x mlflow (target >= {TARGET_THROUGHPUT:.0f}x)",
                throughput >= TARGET_THROUGHPUT,
            )
        )
        out.append((f"{n}-row: p99 {p99:.3f}x mlflow (target <= {TARGET_P99}x)", p99 <= TARGET_P99))
        if bare and bare.get("requests"):
            cost = ours["server_cpu_ms"] / bare["server_cpu_ms"] - 1
            lost = 1 - ours["rps"] / bare["rps"] if bare["rps"] else float("nan")
            out.append(
                (
                    f"{n}-row: the service's own overhead {100 * cost:+.1f}% server CPU a request against the bare "
                    f"handler on the same fast path (target <= {100 * TARGET_CHECK_COST:.0f}%; throughput "
                    f"{100 * -lost:+.1f}%)",
                    cost <= TARGET_CHECK_COST,
                )
            )
        failed = sum(load[server][str(n)]["failures"] for server in load)
        out.append((f"{n}-row: failed requests {failed} (target 0)", failed == 0))
    return out


def table(results):
    order = sorted(results["tables"], key=lambda t: TABLES.index(t) if t in TABLES else len(TABLES))
    lines, runs = [], []  # runs: (run, the tables it measured), in the tables' order
    for table_name in order:
        result = results["tables"][table_name]
        same = [entry for entry in runs if entry[0] == result["run"]]
        if same:
            same[0][1].append(table_name)
        else:
            runs.append((result["run"], [table_name]))
        proc = result["in_process"]
        lines += [
            f"**{table_name}** ({result['description']}; served by {proc['engine']}"
            + (f": {proc['engine_note']}" if proc["engine_note"] else "")
            + ")",
            "",
            "| server | 1-row requests | 100-row requests |",
            "|---|---|---|",
        ]
        for server in SERVERS:
            if server in result["load"]:
                cells = [fmt(result["load"][server][str(n)]) for n in ROWS]
                lines.append(f"| {LABELS[server]} | {cells[0]} | {cells[1]} |")
        lines.append(
            f"| in process: scikit-learn `Pipeline.predict` on a DataFrame | {proc['sklearn_pipeline_ms_1']} ms "
            f"a call | {proc['sklearn_pipeline_ms_100']} ms a call |"
        )
        if "fast_path_ms_1" in proc:
            lines.append(
                f"| in process: the fast path from JSON values (feeds + ONNX Runtime) | {proc['fast_path_ms_1']} ms "
                f"a call | {proc['fast_path_ms_100']} ms a call |"
            )
        lines.append("")
        lines += [f"- {'met' if met else '**not met**'}: {text}" for text, met in verdicts(results, table_name)]
        lines.append("")
    swap = results.get("swap")
    if swap:
        failed = sum(cell["failures"] for cell in swap["per_name"].values())
        answered = sum(cell["requests"] for cell in swap["per_name"].values())
        lines.append(
            f"- {'met' if failed == 0 else '**not met**'}: production moved {swap['moves']} times "
            f"({', '.join(swap['names'])} served by one process, each moved to a second version and back) under "
            f"load of 100-row requests: {answered} answered, {failed} failed (target 0; measured "
            f"{swap['run']['measured_at']})"
        )
    for run, names in runs:
        load = run["load_average"]
        lines.append(
            f"- {', '.join(names)}: {run['machine']['cpus']} CPUs shared with other work, load average "
            f"{load['before'][0]:.2f} before and {load['after'][0]:.2f} after (1 min); {run['clients']} clients, "
            f"{run['seconds']} s per cell, median of {run['rounds_per_cell']} rounds; one client process; measured "
            f"{run['measured_at']}; command: `{run['command']}`"
        )
    return "\n".join(lines)


RUN_FIELDS = ("load_average", "clients", "rounds_per_cell", "seconds", "measured_at", "machine", "command")


def published(path):
    """The results in path ({"tables": {}} when there is none), each table and the swap with its "run": how, when
    and on what load it was measured."""
    if not path.is_file():
        return {"tables": {}}
    results = json.loads(path.read_text())
    legacy = {key: results.pop(key) for key in RUN_FIELDS if key in results}  # written before the merge: one run
    for entry in [*results["tables"].values(), *([results["swap"]] if "swap" in results else [])]:
        entry.setdefault("run", legacy)
    return results


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


def server_commands(name, root, ports, model_dirs, names):
    bin_dir = Path(sys.executable).parent
    return {
        "mlflow": (
            [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dirs[name]), "--env-manager", "local"]
            + ["--host", "127.0.0.1", "-p", str(ports["mlflow"]), "--workers", "1"],
            "/ping",
        ),
        "bare": (
            [sys.executable, str(ROOT / "bench" / "serve_bare.py"), "--registry", str(root)]
            + ["--port", str(ports["bare"]), "--name", name],
            "/health",
        ),
        "snaketrain": (
            [str(bin_dir / "snaketrain-serve"), "--registry", str(root), "--port", str(ports["snaketrain"])]
            + ["--workers", "1", *[part for other in names for part in ("--name", other)]],
            "/ready",
        ),
    }


def start(server, command, port, scratch, label):
    """A server process (command: (argv, readiness path)), ready."""
    print(f"starting {server} for {label} ...", file=sys.stderr)
    bin_dir = Path(sys.executable).parent
    # mlflow starts `uvicorn` from PATH: the one of this environment
    env = {"SNAKETRAIN_SERVE_TOKEN": "", "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    argv, ready_path = command
    return Process(argv, port, scratch / f"{server}-{label}.log", ready_path, env=env)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell; the median round is reported")
    parser.add_argument("--tables", nargs="+", choices=TABLES, help="default: every table whose library imports")
    parser.add_argument("--registry", help="an existing registry for the numeric table (default: run the pipeline)")
    parser.add_argument("--rows", help="Parquet or CSV file of rows to send to it (default: the run's test split)")
    parser.add_argument("--scratch", help="work folder (default: a temporary one, deleted afterwards)")
    parser.add_argument("--no-readme", action="store_true", help="print the table, leave bench/README.md alone")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON results go")
    args = parser.parse_args(argv)
    asked, args.tables = args.tables, []
    for table_name in asked or TABLES:
        library = missing_library(table_name)
        if library and asked:
            parser.error(f"{table_name} needs {library}, which does not import here (make setup-boost)")
        if library:
            print(f"{table_name} not measured: {library} does not import here (make setup-boost)", file=sys.stderr)
        else:
            args.tables.append(table_name)

    import pandas as pd

    from snaketrain.registry import inference, model_registry

    scratch_ctx = contextlib.nullcontext(args.scratch) if args.scratch else tempfile.TemporaryDirectory()
    with scratch_ctx as scratch_name:
        scratch = Path(scratch_name)
        scratch.mkdir(parents=True, exist_ok=True)
        if args.registry:
            root, rows_path = Path(args.registry), args.rows
        elif "numeric" in args.tables:
            print("running the pipeline for a registered version ...", file=sys.stderr)
            root, rows_path = build_registry(scratch)
        else:  # generated tables only: no pipeline run
            root = scratch / "registry"
        names, test_rows, descriptions = {}, {}, {}
        if "numeric" in args.tables:
            numeric_name = model_registry.names_on_disk(root)[0]
            rows = pd.read_parquet(rows_path) if str(rows_path).endswith(".parquet") else pd.read_csv(rows_path)
            version = model_registry.production(root, numeric_name)["version"]
            target = model_registry.metadata(root, version, numeric_name)["input_schema"]["target"]
            test_rows[numeric_name] = rows.drop(columns=[target], errors="ignore")
            names["numeric"] = numeric_name
            descriptions["numeric"] = "breast cancer, 30 numeric columns; StandardScaler + LogisticRegression"
        for table_name, (factory, task) in generated_models().items():
            if table_name not in args.tables:
                continue
            print(f"fitting {table_name} ...", file=sys.stderr)
            version, test = publish_generated(root, scratch, table_name, factory(0), task)
            model_registry.promote(root, version, table_name)
            if table_name in SWAP_NAMES:
                publish_generated(root, scratch, table_name, factory(1), task, seed=1)  # the version to move to
            names[table_name], test_rows[table_name] = table_name, test
            columns = (
                "a day-first date, an 800-value zip code, free text, a plan and usage with gaps"
                if table_name in USERS_TABLES
                else "4 numeric and 3 text columns with missing values"
            )
            descriptions[table_name] = (
                f"{GENERATED_ROWS:,} generated rows, {columns}; {type(factory(0)).__name__}, {task}"
            )
        names = {table_name: names[table_name] for table_name in TABLES if table_name in names}
        served = [names[table_name] for table_name in names if table_name in args.tables or table_name in SWAP_NAMES]
        bodies = {}
        for name, df in test_rows.items():
            df = pd.concat([df] * (1 + max(ROWS) // len(df)), ignore_index=True)
            test_rows[name] = df
            bodies[name] = {
                n: json.dumps({"dataframe_split": json.loads(df.head(n).to_json(orient="split", index=False))}).encode()
                for n in ROWS
            }
        model_dirs = {names[t]: mlflow_dir(root, names[t], test_rows[names[t]]) for t in names if t in args.tables}

        ports = {server: free_port() for server in SERVERS}
        results = {"tables": {}, "load_average": {"before": list(os.getloadavg())}}
        first = served[0]  # answers /invocations
        ours = start(
            "snaketrain",
            server_commands(first, root, ports, model_dirs, served)["snaketrain"],
            ports["snaketrain"],
            scratch,
            "all",
        )
        try:
            for table_name in args.tables:
                name = names[table_name]
                commands = server_commands(name, root, ports, model_dirs, served)
                processes = {"snaketrain": ours}
                for server in ("mlflow", "bare"):
                    try:
                        processes[server] = start(server, commands[server], ports[server], scratch, table_name)
                    except SystemExit as error:  # the bare handler refuses a version the fast path does not take
                        print(f"{server} not measured for {table_name}: {str(error)[-300:]}", file=sys.stderr)
                path = "/invocations" if name == first else f"/models/{name}/invocations"
                rounds = {server: {n: [] for n in ROWS} for server in processes}
                try:
                    for round_index in range(args.rounds):
                        order = (
                            list(processes)[round_index % len(processes) :]
                            + list(processes)[: round_index % len(processes)]
                        )
                        for n in ROWS:
                            for server in order:
                                cell = measure(
                                    ports[server],
                                    bodies[name][n],
                                    args.clients,
                                    args.seconds,
                                    processes[server].process.pid,
                                    path if server == "snaketrain" else "/invocations",
                                )
                                rounds[server][n].append(cell)
                                print(
                                    f"{table_name} round {round_index + 1} {server:>10} {n:>3} rows: {fmt(cell)}",
                                    file=sys.stderr,
                                )
                finally:
                    for server, process in processes.items():
                        if server != "snaketrain":
                            process.stop()
                results["tables"][table_name] = {
                    "name": name,
                    "description": descriptions[table_name],
                    "load": {
                        server: {str(n): median_cell(cells) for n, cells in by_n.items()}
                        for server, by_n in rounds.items()
                    },
                    "rounds": {server: {str(n): cells for n, cells in by_n.items()} for server, by_n in rounds.items()},
                }
            if all(name in served for name in SWAP_NAMES):
                print("moving production under load ...", file=sys.stderr)
                results["swap"] = swap_under_load(ports["snaketrain"], root, bodies, args.clients, ours.process.pid)
            results["load_average"]["after"] = list(os.getloadavg())
        finally:
            ours.stop()
        for table_name in args.tables:
            name = names[table_name]
            loaded = inference.load_production(root, name, stage="bench")
            results["tables"][table_name]["in_process"] = in_process(loaded, test_rows[name])

    run = dict(
        load_average=results.pop("load_average"),
        clients=args.clients,
        rounds_per_cell=args.rounds,
        seconds=args.seconds,
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        command="make bench-serve"
        if not argv and len(sys.argv) == 1
        else "python bench/serve.py " + " ".join(argv or sys.argv[1:]),
    )
    # this run's tables (and swap) replace the published ones; the other tables stay as they were measured
    merged = published(Path(args.results))
    for table_name, result in results["tables"].items():
        merged["tables"][table_name] = {**result, "run": run}
    if "swap" in results:
        merged["swap"] = {**results["swap"], "run": run}
    text = table(merged)
    Path(args.results).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print(text)
    if not args.no_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
