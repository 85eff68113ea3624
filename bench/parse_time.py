"""Benchmark: what the workflow's own parse-time work costs every Snakemake call, against earlier commits.

Side by side in one run, on the same machine and data (bench/run.py's generated table), each tree in its own copy
running its own scripts/snaketrain (PYTHONPATH), in the same Python environment:

  before     the last commit before experiments landed (8fbc4b7): the no-op and dry run to stay within 1.05x of
  reference  a commit to compare the working tree with at 50 experiments (default 2594bb3, before issue 31)
  current    the working tree

For each tree: one full run in a copy, then per round, alternating the trees' order: the no-op rerun (`snakemake
--cores 2` in the finished copy) and the dry run (`snakemake -n` in a copy that never ran). Without an experiments
file the copies use bench/config.yaml; with --experiments N, `reference` and `current` also get N experiments
(bench/experiments.py's file and base config). Reported: median wall time and the median CPU time (user + sys of
the snakemake process and its children: less moved by other load on the machine), and the median of the per-round
ratios to `before` (to `reference` with experiments). Results go to bench/parse-time.json and a table to stdout.

    python bench/parse_time.py                       # 10,000 rows, 7 rounds, 50 experiments
    python bench/parse_time.py --rounds 3 --experiments 10
    python bench/parse_time.py --python .venv-light/bin/python   # in an environment of requirements.txt alone
"""

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import experiments as bench_experiments
import run as bench_run

ROOT = Path(__file__).resolve().parents[1]
BEFORE_EXPERIMENTS = "8fbc4b7"
REFERENCE = "2594bb3"
TARGET = 1.05  # the working tree's no-op and dry run against the commit before experiments


def tree_copy(dest, commit, data_file, config, experiments=0):
    """A copy of the project at commit (None: the working tree) with the benchmark's data, config and experiments."""
    dest.mkdir(parents=True)
    if commit is None:
        for part in bench_run.PROJECT_PARTS:
            shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(
            ["git", "archive", commit, *bench_run.PROJECT_PARTS], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    (dest / "config" / "experiments.yaml").unlink(missing_ok=True)
    (dest / "bench").mkdir()
    shutil.copy2(ROOT / config, dest / config)
    (dest / bench_run.DATA_PATH).parent.mkdir(parents=True)
    shutil.copy2(data_file, dest / bench_run.DATA_PATH)
    if experiments:
        (dest / bench_experiments.EXPERIMENTS_FILE).write_text(bench_experiments.experiments_text(experiments))
    return dest


PYTHON = sys.executable  # --python: the environment every call runs in


def timed(cwd, *args):
    """(wall s, CPU s) of one snakemake call in cwd, running that copy's own package."""
    env = bench_run.clean_env()
    env["PYTHONPATH"] = str(cwd / "scripts")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {cwd}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cases(experiments):
    """(label, commit, config, experiments) of every copy measured."""
    plain = bench_run.BENCH_CONFIG
    found = [
        ("before", BEFORE_EXPERIMENTS, plain, 0),
        ("reference", REFERENCE, plain, 0),
        ("current", None, plain, 0),
    ]
    if experiments:
        base = bench_experiments.BASE_CONFIG
        found += [
            (f"reference, {experiments} experiments", REFERENCE, base, experiments),
            (f"current, {experiments} experiments", None, base, experiments),
        ]
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--experiments", type=int, default=50, help="experiments in the second comparison (0: none)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "parse-time.json")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python whose environment runs snakemake (e.g. a venv of requirements.txt alone, as `make run` makes)",
    )
    args = parser.parse_args(argv)
    global PYTHON
    PYTHON = args.python
    scratch = Path(tempfile.mkdtemp(prefix="parse-time-"))
    try:
        data_file = bench_run.generate_data(args.rows, scratch / "data.parquet")
        measured = {}
        for index, (label, commit, config, count) in enumerate(cases(args.experiments)):
            finished = tree_copy(scratch / f"run-{index}", commit, data_file, config, count)
            timed(finished, "--cores", "2", "--configfile", config)
            measured[label] = {"finished": finished, "commit": commit, "config": config, "count": count}
            measured[label].update({"no-op": [], "dry run": []})
        for round_index in range(args.rounds):
            labels = list(measured)
            order = labels if round_index % 2 == 0 else labels[::-1]
            for label in order:
                case = measured[label]
                case["no-op"].append(timed(case["finished"], "--cores", "2", "--configfile", case["config"]))
                fresh = tree_copy(
                    scratch / f"dry-{round_index}-{labels.index(label)}",
                    case["commit"],
                    data_file,
                    case["config"],
                    case["count"],
                )
                case["dry run"].append(timed(fresh, "-n", "--configfile", case["config"]))
                shutil.rmtree(fresh)
        rows, results = [], {}
        for label, case in measured.items():
            against = "before" if not case["count"] else f"reference, {case['count']} experiments"
            for figure in ("no-op", "dry run"):
                samples = case[figure]
                base = measured[against][figure]
                wall_ratio = statistics.median(s[0] / b[0] for s, b in zip(samples, base, strict=True))
                cpu_ratio = statistics.median(s[1] / b[1] for s, b in zip(samples, base, strict=True))
                entry = {
                    "wall_s": statistics.median(s[0] for s in samples),
                    "cpu_s": statistics.median(s[1] for s in samples),
                    "against": against,
                    "wall_ratio": wall_ratio,
                    "cpu_ratio": cpu_ratio,
                    "samples": samples,
                }
                results[f"{label}: {figure}"] = entry
                ratio = "" if label == against else f"{wall_ratio:.3f}x ({cpu_ratio:.3f}x) {against}"
                rows.append(f"| {label} | {figure} | {entry['wall_s']:.3f} s | {entry['cpu_s']:.3f} s | {ratio} |")
        table = "\n".join(
            [
                f"{args.rounds} rounds, {args.rows:,} rows; ratios: median of per-round ratios, wall (CPU)",
                "",
                "| tree | call | median wall | median CPU | ratio |",
                "|---|---|---:|---:|---|",
                *rows,
            ]
        )
        print(table)
        machine = bench_run.machine_info()
        args.output.write_text(json.dumps({"machine": machine, "results": results, "markdown": table}, indent=2) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
