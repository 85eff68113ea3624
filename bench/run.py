"""Benchmark: what the workflow costs compared with the same stages run as one plain Python script.

For each size it generates synthetic classification data (make_classification: 20 features, 10 informative, fixed
seed), then per repetition, on a fresh copy of the project:

  floor        `snakemake --version` in a venv holding only Snakemake at the pinned version (built once, cached
               under bench/work/): the floor of any Snakemake call
  version      `snakemake --version` in the project's environment (the floor plus what that environment adds)
  dry run      `snakemake -n` on the fresh copy (plans the whole DAG)
  full run     `snakemake --cores N` from scratch, paired with bench/baseline.py (same stage functions, one
               process); the order alternates between repetitions so that load drift hits both alike
  no-op rerun  the same command again: nothing to do
  incremental  the same command with bench/incremental.yaml (one model's params change)

Wall times come from time.perf_counter around each command; the peak RSS is that of the largest process of the
command's process tree (wait4's ru_maxrss, which covers the reaped descendants, and a psutil poll of the live tree).
Each figure is reported as median, min and max over the repetitions, and as the median of the per-repetition
ratios to its reference. Results go to bench/results.json and a markdown table to stdout.

    python bench/run.py                                   # 10,000 and 1,000,000 rows, 3 repetitions
    python bench/run.py --sizes 10000 --repetitions 5
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PARTS = ("workflow", "scripts", "config", "profiles")
BENCH_CONFIG = "bench/config.yaml"
INCREMENTAL_CONFIG = "bench/incremental.yaml"
CHEAP_PAIRS = 3  # alternating (no-op rerun, --version) pairs per repetition
DATA_PATH = "data/bench.parquet"  # where bench/config.yaml points data.path
PACKAGES = ("snakemake", "scikit-learn", "pandas", "numpy", "pyarrow", "joblib", "scipy", "psutil")

# figure -> target ratio to its first reference (per size, or for every size)
TARGETS = {
    "full_run_s": {10_000: 1.25, 1_000_000: 0.8},
    "peak_rss_mb": {1_000_000: 1.0},
    "noop_rerun_s": 1.3,
    "dry_run_s": 1.3,
    "incremental_s": {10_000: 0.4},
}
FLOOR = "the floor (bare `snakemake --version`)"
VERSION = "`snakemake --version`"
FIGURES = (
    # key, label, unit, references: (key, label), the first one the target's
    ("full_run_s", "full run from scratch", "s", [("baseline_s", "baseline")]),
    ("baseline_s", "baseline (one process)", "s", []),
    ("peak_rss_mb", "peak RSS, largest process", "MB", [("baseline_rss_mb", "baseline")]),
    ("baseline_rss_mb", "baseline peak RSS", "MB", []),
    (
        "noop_rerun_s",
        "no-op rerun",
        "s",
        [("floor_s", FLOOR), ("version_s", VERSION), ("bare_noop_s", "a one-rule workflow's no-op, Snakemake alone")],
    ),
    ("dry_run_s", "dry run (fresh copy)", "s", [("floor_s", FLOOR), ("version_s", VERSION)]),
    (
        "incremental_s",
        "incremental rerun (one model's params)",
        "s",
        [("full_run_s", "full run"), ("incremental_floor_s", "its floor")],
    ),
    ("incremental_floor_s", "its floor: no-op rerun + the libraries its jobs load", "s", [("full_run_s", "full run")]),
    ("rerun_imports_s", "those libraries, imported in a fresh process", "s", []),
    ("version_s", "`snakemake --version`, project's environment", "s", [("floor_s", FLOOR)]),
    ("floor_s", "`snakemake --version`, Snakemake alone (the floor)", "s", []),
    ("bare_noop_s", "no-op rerun of a one-rule workflow, Snakemake alone", "s", [("floor_s", FLOOR)]),
)
# What the jobs of an incremental rerun import, whatever changed (tune/train/evaluate: scikit-learn, its Displays
# import pyplot; the gate and register_model: skops; tables: pyarrow): with the no-op rerun, the floor of any rerun
# that does work, since run: blocks share one process and pay each import once
RERUN_IMPORTS = (
    "sklearn.ensemble, sklearn.model_selection, sklearn.inspection, matplotlib.pyplot, skops.io, pyarrow.parquet"
)
# where the floor's venv is built once and kept (git-ignored)
FLOOR_HOME = ROOT / "bench" / "work"


# ---- running and measuring commands


# libgomp's default spin-wait makes OpenMP code (HistGradientBoosting) several times slower in a process whose
# threads are preempted by other work on the machine; sleeping waiters keep both sides comparable on a shared
# machine (--omp-wait-policy "" keeps the library default)
DEFAULT_OMP_WAIT_POLICY = "PASSIVE"
ENV_OVERRIDES = {"OMP_WAIT_POLICY": DEFAULT_OMP_WAIT_POLICY}


# The SLURM executor plugin, when installed, runs `scontrol show config` while Snakemake imports it (every call,
# even --version); with SLURM's client installed but its controller unreachable that takes 9-10 s (its timeout).
# The benchmark measures the local profile, so by default it puts a stub scontrol first on PATH that fails at
# once, as on a machine without SLURM (--keep-slurm-probe measures with the real one).
STUB_DIR = None


def clean_env():
    env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    env.update({key: value for key, value in ENV_OVERRIDES.items() if value})
    if STUB_DIR:
        env["PATH"] = f"{STUB_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def stub_slurm_probe(folder):
    folder.mkdir(parents=True, exist_ok=True)
    stub = folder / "scontrol"
    stub.write_text("#!/bin/sh\nexit 1\n")
    stub.chmod(0o755)
    return folder


def slurm_probe_seconds():
    """How long `scontrol show config` takes here (None without SLURM's client)."""
    if not shutil.which("scontrol"):
        return None
    started = time.perf_counter()
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=15, check=False)
    return round(time.perf_counter() - started, 2)


def _tree_rss(process):
    """The largest RSS (bytes) among process and its live descendants."""
    import psutil

    largest = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            largest = max(largest, member.memory_info().rss)
    return largest


def measure(cmd, cwd, log_path, poll_s=0.2):
    """Run cmd in cwd; returns {wall_s, peak_rss_mb, returncode}. stdout and stderr go to log_path."""
    import psutil

    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=clean_env(), stdout=log, stderr=subprocess.STDOUT)
        watched = psutil.Process(proc.pid)
        polled = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                polled[0] = max(polled[0], _tree_rss(watched))
                done.wait(poll_s)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux
    peak = max(usage.ru_maxrss * 1024, polled[0])
    if proc.returncode != 0:
        tail = Path(log_path).read_text()[-4000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}) in {cwd}:\n{tail}")
    return {"wall_s": round(wall, 4), "peak_rss_mb": round(peak / 2**20, 1)}


def snakemake_cmd(*args, python=None):
    return [python or sys.executable, "-m", "snakemake", *args]


def pinned_version(package, requirements=ROOT / "requirements.txt"):
    for line in requirements.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if name == package:
            return version
    raise ValueError(f"{package} is not pinned in {requirements}")


def floor_python(home=FLOOR_HOME):
    """The python of a venv that holds only Snakemake at the pinned version: built once, then reused."""
    version = pinned_version("snakemake")
    venv = home / f"floor-snakemake-{version}"
    python = venv / "bin" / "python"
    done = venv / ".complete"
    if not done.is_file():
        print(f"building the floor's venv (snakemake=={version} alone) in {venv}", file=sys.stderr, flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"snakemake=={version}"], check=True)
        done.write_text(f"snakemake=={version}\n")
    return python


def snakemake_plugins():
    """The Snakemake plugins installed in this environment, each imported at every Snakemake start."""
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    return sorted(name for name in names if name and name.startswith("snakemake-") and "-plugin-" in name)


def jobs_run(log_path):
    """rule -> count from the 'Job stats' table Snakemake prints before running ({} when nothing ran)."""
    text = Path(log_path).read_text()
    if "Job stats:" not in text:
        return {}
    jobs = {}
    for line in text.split("Job stats:", 1)[1].splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs


# ---- data and project copies


def generate_data(rows, path, seed=0):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=seed)
    frame = pd.DataFrame(X.astype(np.float64), columns=[f"f{i:02d}" for i in range(X.shape[1])])
    frame["target"] = y
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def copy_project(dest, data_file):
    """A fresh copy of the workflow as a user's checkout holds it, with the benchmark config and data."""
    dest.mkdir(parents=True)
    for part in PROJECT_PARTS:
        shutil.copytree(ROOT / part, dest / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "bench").mkdir()
    for name in (BENCH_CONFIG, INCREMENTAL_CONFIG):
        shutil.copy2(ROOT / name, dest / name)
    (dest / DATA_PATH).parent.mkdir(parents=True)
    shutil.copy2(data_file, dest / DATA_PATH)
    return dest


# The least a no-op rerun of any workflow costs: one rule, run once, then asked again (parsing the Snakefile,
# building the DAG and checking the output against Snakemake's records)
ONE_RULE_WORKFLOW = """\
rule all:
    output:
        "done.txt",
    shell:
        "echo done > {output}"
"""


def one_rule_workflow(dest, floor):
    dest.mkdir(parents=True)
    (dest / "Snakefile").write_text(ONE_RULE_WORKFLOW)
    subprocess.run(
        snakemake_cmd("--cores", "1", python=floor), cwd=dest, env=clean_env(), capture_output=True, check=True
    )
    return dest


def baseline_dir(dest, data_file):
    dest.mkdir(parents=True)
    (dest / DATA_PATH).parent.mkdir(parents=True)
    shutil.copy2(data_file, dest / DATA_PATH)
    return dest


# ---- one repetition


def repetition(size, index, data_file, scratch, cores, incremental, floor):
    """All figures of one repetition on fresh copies; returns {figure: value} and details."""
    here = scratch / f"rows{size}" / f"rep{index}"
    if here.exists():
        shutil.rmtree(here)
    here.mkdir(parents=True)
    project = copy_project(here / "workflow", data_file)
    base = baseline_dir(here / "baseline", data_file)
    logs = here / "logs"
    logs.mkdir()
    run = snakemake_cmd("--cores", str(cores), "--configfile", BENCH_CONFIG)
    baseline = [sys.executable, str(ROOT / "bench" / "baseline.py"), "--configfile", str(ROOT / BENCH_CONFIG)]
    baseline += ["--out", "results"]
    figures, details = {}, {}

    def timed(name, cmd, cwd):
        result = measure(cmd, cwd, logs / f"{name}.log")
        details[name] = {**result, "jobs": jobs_run(logs / f"{name}.log")}
        return result

    # the dry run plans everything on the fresh copy; --version of both environments beside it
    floors = [timed("floor", snakemake_cmd("--version", python=floor), project)["wall_s"]]
    figures["version_s"] = timed("version", snakemake_cmd("--version"), project)["wall_s"]
    figures["dry_run_s"] = timed("dry_run", [*run, "-n"], project)["wall_s"]
    floors.append(timed("floor1", snakemake_cmd("--version", python=floor), project)["wall_s"])

    # full run from scratch, paired with the baseline; alternate who goes first
    order = ("baseline", "full_run") if index % 2 == 0 else ("full_run", "baseline")
    for name in order:
        result = timed(name, baseline if name == "baseline" else run, base if name == "baseline" else project)
        prefix = "baseline" if name == "baseline" else "full_run"
        figures[f"{prefix}_s"] = result["wall_s"]
        figures["baseline_rss_mb" if name == "baseline" else "peak_rss_mb"] = result["peak_rss_mb"]
    # the cheap figures get several alternating rounds per repetition: no-op rerun, --version, the floor
    noops, versions, bare_noops = [], [figures["version_s"]], []
    tiny = one_rule_workflow(here / "one-rule", floor)
    for pair in range(CHEAP_PAIRS):
        noops.append(timed(f"noop_rerun{pair}", run, project)["wall_s"])
        versions.append(timed(f"version{pair + 1}", snakemake_cmd("--version"), project)["wall_s"])
        floors.append(timed(f"floor{pair + 2}", snakemake_cmd("--version", python=floor), project)["wall_s"])
        bare_noops.append(timed(f"bare_noop{pair}", snakemake_cmd("--cores", "1", python=floor), tiny)["wall_s"])
    figures["noop_rerun_s"] = statistics.median(noops)
    figures["bare_noop_s"] = statistics.median(bare_noops)
    figures["version_s"] = statistics.median(versions)
    figures["floor_s"] = statistics.median(floors)
    details["noop_rerun"] = details["noop_rerun0"]
    details["same_metrics"] = same_metrics(project / "results", base / "results")
    if incremental:
        figures["incremental_s"] = timed("incremental", [*run, INCREMENTAL_CONFIG], project)["wall_s"]
        imports = [timed(f"imports{i}", [sys.executable, "-c", f"import {RERUN_IMPORTS}"], project) for i in range(3)]
        figures["rerun_imports_s"] = statistics.median(result["wall_s"] for result in imports)
        figures["incremental_floor_s"] = figures["noop_rerun_s"] + figures["rerun_imports_s"]
    details["baseline_stages_s"] = json.loads((base / "results" / "timings.json").read_text())
    details["workflow_jobs_s"] = job_times(project / "benchmarks")
    return figures, details


def same_metrics(workflow_results, baseline_results):
    """Do the workflow and the baseline end with the same comparison table (same functions, same seeds)?"""
    name = Path("comparison") / "metrics.csv"
    return (workflow_results / name).read_text() == (baseline_results / name).read_text()


def job_times(benchmarks):
    """rule -> summed wall seconds of its jobs, from Snakemake's benchmark files."""
    totals = {}
    for tsv in sorted(benchmarks.glob("*/*.tsv")):
        lines = tsv.read_text().splitlines()
        if len(lines) >= 2:
            seconds = float(lines[1].split("\t")[0])
            totals[tsv.parent.name] = round(totals.get(tsv.parent.name, 0.0) + seconds, 3)
    return totals


# ---- summary


def target_for(key, size):
    target = TARGETS.get(key)
    if isinstance(target, dict):
        return target.get(size)
    return target


def summarise(size, reps):
    """Per figure: values, median, min, max, and the median of the per-repetition ratios to each reference."""
    rows = []
    for key, label, unit, references in FIGURES:
        values = [r[key] for r in reps if key in r]
        if not values:
            continue
        row = {
            "size": size,
            "figure": key,
            "label": label,
            "unit": unit,
            "values": values,
            "median": round(statistics.median(values), 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
            "ratios_to": [],
        }
        for ref_key, ref_label in references:
            ratios = [r[key] / r[ref_key] for r in reps if key in r and ref_key in r]
            if ratios:
                row["ratios_to"].append(
                    {
                        "reference": ref_label,
                        "ratio": round(statistics.median(ratios), 3),
                        "ratios": [round(x, 3) for x in ratios],
                    }
                )
        if row["ratios_to"]:
            # the first reference is the one the target is set against
            row.update(row["ratios_to"][0])
            target = target_for(key, size)
            if target is not None:
                row["target"] = target
                row["met"] = row["ratio"] <= target
        rows.append(row)
    return rows


def markdown(rows, machine):
    lines = [
        f"{machine['cores']} cores, {machine['platform']}, Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        f"Snakemake plugins installed: {', '.join(machine['snakemake_plugins']) or 'none'}",
        f"load average before/after: {machine['load_before']} / {machine['load_after']}",
        "",
        "| rows | figure | median | min | max | ratio (median of pairs) | target |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        unit = row["unit"]
        ratio = "; ".join(f"{r['ratio']:.2f}x {r['reference']}" for r in row["ratios_to"])
        target = ""
        if "target" in row:
            target = f"<= {row['target']}x: {'met' if row['met'] else 'NOT met'}"
        lines.append(
            f"| {row['size']:,} | {row['label']} | {row['median']:.2f} {unit} | {row['min']:.2f} | "
            f"{row['max']:.2f} | {ratio} | {target} |"
        )
    return "\n".join(lines)


def machine_info():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "packages": versions,
        "snakemake_plugins": snakemake_plugins(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="rows of data")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions per size (default 3)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    parser.add_argument(
        "--incremental-max-rows",
        type=int,
        default=100_000,
        help="measure the incremental rerun only up to this size (default 100000)",
    )
    parser.add_argument(
        "--omp-wait-policy",
        default=DEFAULT_OMP_WAIT_POLICY,
        help="OMP_WAIT_POLICY for every measured command (default PASSIVE; '' keeps the library default)",
    )
    parser.add_argument(
        "--keep-slurm-probe",
        action="store_true",
        help="do not stub `scontrol` (see STUB_DIR): measure what the SLURM plugin's import-time probe costs here",
    )
    parser.add_argument("--scratch", type=Path, help="work folder (default: a temporary folder, removed after)")
    parser.add_argument(
        "--floor-home",
        type=Path,
        default=FLOOR_HOME,
        help="where the venv holding only Snakemake is built once and kept (default bench/work)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json", help="results JSON")
    args = parser.parse_args(argv)

    ENV_OVERRIDES["OMP_WAIT_POLICY"] = args.omp_wait_policy
    machine = machine_info()
    machine["omp_wait_policy"] = args.omp_wait_policy or None
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="snaketrain-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    global STUB_DIR
    machine["slurm_probe_s"] = slurm_probe_seconds()
    machine["slurm_probe_stubbed"] = not args.keep_slurm_probe
    if not args.keep_slurm_probe:
        STUB_DIR = str(stub_slurm_probe(scratch / "stub-bin"))
    command = " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    results = {"command": command, "machine": machine, "repetitions": args.repetitions, "cores": args.cores}
    results["sizes"], rows = {}, []
    floor = floor_python(args.floor_home)
    machine["floor_python"] = str(floor)
    try:
        for size in args.sizes:
            data_file = generate_data(size, scratch / "data" / f"rows{size}.parquet")
            reps, details = [], []
            for index in range(args.repetitions):
                figures, detail = repetition(
                    size, index, data_file, scratch, args.cores, size <= args.incremental_max_rows, floor
                )
                reps.append(figures)
                details.append(detail)
                print(f"rows {size:,} repetition {index + 1}: {figures}", file=sys.stderr, flush=True)
            summary = summarise(size, reps)
            rows += summary
            results["sizes"][str(size)] = {"repetitions": reps, "details": details, "summary": summary}
    finally:
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)
    machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["table"] = rows
    results["markdown"] = markdown(rows, machine)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(results["markdown"])
    return results


if __name__ == "__main__":
    main()
