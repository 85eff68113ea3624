"""Benchmark: experiments (issue 25), many named runs in one DAG against separate runs, and what planning costs.

One generated dataset (make_classification as bench/run.py makes it, 10,000 rows by default), the base config
bench/experiments-base.yaml (models linear and random_forest, small grids, 3-fold CV), and experiments that differ
only in random_forest's n_estimators (experiment treesN sets N trees; the base has 10): linear's fit, the data, the
split and the features are the same in all of them, so one DAG does them once. Per repetition, on fresh copies of
the project (workflow/, scripts/, config/, profiles/, as bench/run.py copies it):

  together     `snakemake --cores N` with config/experiments.yaml holding --separate experiments (10): one run
  separate     the same experiments as --separate runs of one config each, every one in its own fresh copy
               without an experiments file: `--configfile bench/experiments-base.yaml <its overlay>`
               (together and separate alternate who goes first; target: together <= 0.5x separate)
  no-op        `snakemake --cores N` again in a finished project with 1, 10 and 50 experiments (and, as a
               reference, without an experiments file), the counts in rotating order; target: 50 <= 2x 1
  dry run      `snakemake -n` in a copy that never ran (plans up to the gate checkpoint: the DAG-building time)
  --version    `snakemake --version` in the same environment: the floor of any Snakemake call

The finished projects of the no-op are made once per count before the repetitions (their full-run time is
recorded once). `--profile` adds a cProfile of the dry run and of the no-op with the fewest and the most
experiments, and the cumulative time of the workflow's own steps (config validation per experiment, shared
folder keys, input functions, checkpoint updates) in each.

Wall times come from time.perf_counter around each command (bench/run.py's measure); each command's 1-minute load
average is recorded when it starts. Figures are medians over repetitions with min and max, ratios the median of the
per-repetition ratios. Results go to bench/experiments.json and a markdown table to stdout.

    python bench/experiments.py                              # 10,000 rows, 1/10/50 experiments, 3 repetitions
    python bench/experiments.py --profile                    # and where the planning time goes
    python bench/experiments.py --rows 400 --counts 1 3 --separate 3 --repetitions 1   # a quick check
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/run.py, whose data generator, project parts, measuring and environment this benchmark shares (bench/ is on
# sys.path: the script runs as `python bench/experiments.py`)
import run as bench_run

ROOT = Path(__file__).resolve().parents[1]

BASE_CONFIG = "bench/experiments-base.yaml"
DATA_PATH = bench_run.DATA_PATH  # where the base config points data.path
EXPERIMENTS_FILE = "config/experiments.yaml"
BASE_TREES = 10  # random_forest's n_estimators in the base config; experiment i gets BASE_TREES + i
# issue 25, "Scale and speed"
TARGET_TOGETHER = 0.5  # a full run of 10 experiments, against 10 separate runs
TARGET_NOOP = {50: 2.0}  # the no-op with 50 experiments, against the no-op with 1
# what --profile reports: the workflow's own functions (common.smk and the package), then Snakemake's DAG steps
PROFILED = (
    ("Snakefile", "<module>", "the Snakefile and its includes (config, experiments, rules)"),
    ("common.smk", "<module>", "common.smk: config validation, experiments, shared folder keys"),
    ("experiments.py", "experiment_config", "each experiment's config: merged, checked, defaults filled"),
    ("config_check.py", "config_error", "  of which the schema and catalogue checks (config_error)"),
    ("config_check.py", "load_schema", "    of which reading the schema file (load_schema)"),
    ("config_check.py", "with_defaults", "  of which filling in defaults (with_defaults)"),
    ("experiments.py", "shared_folders", "shared folder keys (experiments.shared_folders)"),
    ("experiments.py", "check_agree", "conflicting sources check"),
    ("tracking/mlflow_mirror.py", "tracked_config", "tracked_config (the end-of-run summary's configs)"),
    ("workflow.py", "_build_dag", "Snakemake: building the DAG"),
    ("dag.py", "update_checkpoint_dependencies", "  of which checkpoint updates"),
    ("experiments.py", "fill", "  of which Experiments.fill (input functions' paths)"),
    ("experiments.py", "owner", "  of which Experiments.owner (which experiment's config a job reads)"),
    ("common.smk", "deploy_inputs", "  of which deploy_inputs"),
    ("common.smk", "final_targets", "  of which final_targets"),
    ("dag.py", "update_needrun", "Snakemake: which jobs need to run (update_needrun)"),
    ("workflow.py", "execute", "Snakemake: workflow.execute (DAG, checks, scheduling)"),
)


# ---- projects and experiments


def experiment_names(count):
    return [f"trees{BASE_TREES + i}" for i in range(1, count + 1)]


def overlay(name):
    """An experiment's overlay: random_forest's n_estimators, nothing else."""
    trees = int(name.removeprefix("trees"))
    return {"estimators": {"random_forest": {"params": {"n_estimators": trees}}}}


def experiments_text(count):
    lines = ["experiments:"]
    for name in experiment_names(count):
        lines.append(f"  {name}: {json.dumps(overlay(name))}")
    return "\n".join(lines) + "\n"


def copy_project(dest, data_file, experiments=None):
    """A fresh copy of the project with the benchmark's base config and data; with `experiments` (a count), an
    experiments file of that many experiments (0: none, one config)."""
    dest.mkdir(parents=True)
    for part in bench_run.PROJECT_PARTS:
        shutil.copytree(ROOT / part, dest / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "config" / "experiments.yaml").unlink(missing_ok=True)
    (dest / "bench").mkdir()
    shutil.copy2(ROOT / BASE_CONFIG, dest / BASE_CONFIG)
    (dest / DATA_PATH).parent.mkdir(parents=True)
    shutil.copy2(data_file, dest / DATA_PATH)
    if experiments:
        (dest / EXPERIMENTS_FILE).write_text(experiments_text(experiments))
    return dest


def overlay_file(project, name):
    path = project / "bench" / f"experiment-{name}.json"
    path.write_text(json.dumps(overlay(name)) + "\n")  # JSON is YAML: --configfile reads it
    return str(path.relative_to(project))


def snakemake_run(*extra, cores):
    return bench_run.snakemake_cmd("--cores", str(cores), "--configfile", BASE_CONFIG, *extra)


class Timer:
    """Runs and times commands; keeps each one's log, jobs and the load average when it started."""

    def __init__(self, logs):
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.details = {}

    def __call__(self, name, cmd, cwd):
        load = round(os.getloadavg()[0], 2)
        log = self.logs / f"{name}.log"
        result = measure(cmd, cwd, log)
        self.details[name] = {**result, "load": load, "jobs": bench_run.jobs_run(log)}
        return result


def measure(cmd, cwd, log_path):
    """Run cmd in cwd (bench/run.py's environment); {wall_s, cpu_s}: wall time, and the CPU time (user + system) of
    the command and its reaped descendants, which other work on the machine inflates much less than wall time."""
    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=bench_run.clean_env(), stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = Path(log_path).read_text()[-4000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed in {cwd}:\n{tail}")
    return {"wall_s": round(wall, 4), "cpu_s": round(usage.ru_utime + usage.ru_stime, 4)}


def same_comparisons(together, separate, names):
    """Does each separate run end with the same model comparison as its experiment in the one DAG?"""
    table = Path("comparison") / "metrics.csv"
    return all(
        (together / "results" / name / table).read_text() == (project / "results" / table).read_text()
        for name, project in zip(names, separate, strict=True)
    )


# ---- figures


def together_and_separate(index, here, data_file, count, cores, timer):
    """One full run of count experiments in one DAG, and count separate runs of one each (alternating order)."""
    names = experiment_names(count)
    together = copy_project(here / "together", data_file, experiments=count)
    separate = [copy_project(here / f"separate-{name}", data_file) for name in names]
    figures = {}
    order = ("together", "separate") if index % 2 == 0 else ("separate", "together")
    for side in order:
        if side == "together":
            figures["together"] = timer(f"rep{index}-together", snakemake_run(cores=cores), together)
        else:
            runs = [
                timer(f"rep{index}-separate-{name}", snakemake_run(overlay_file(project, name), cores=cores), project)
                for name, project in zip(names, separate, strict=True)
            ]
            figures["separate"] = {key: round(sum(run[key] for run in runs), 4) for key in ("wall_s", "cpu_s")}
    checks = {
        "together_jobs": timer.details[f"rep{index}-together"]["jobs"],
        "separate_jobs": sum_jobs(timer.details[f"rep{index}-separate-{name}"]["jobs"] for name in names),
        "same_comparisons": same_comparisons(together, separate, names),
    }
    return figures, checks


def sum_jobs(tables):
    total = {}
    for table in tables:
        for rule, count in table.items():
            total[rule] = total.get(rule, 0) + count
    return total


def finished_projects(scratch, data_file, counts, cores, timer):
    """One finished project per count (full run from scratch, timed once): what the no-op reruns."""
    projects, seconds = {}, {}
    for count in counts:
        project = copy_project(scratch / "finished" / f"n{count}", data_file, experiments=count)
        seconds[count] = timer(f"finished-n{count}", snakemake_run(cores=cores), project)
        print(f"full run, {count} experiments: {seconds[count]}", file=sys.stderr, flush=True)
        projects[count] = project
    return projects, seconds


def rotated(counts, index):
    shift = index % len(counts)
    return list(counts[shift:]) + list(counts[:shift])


# ---- profile


def profile(scratch, data_file, counts, finished, cores):
    """cProfile of the dry run (fresh copy) and the no-op with the fewest and the most experiments."""
    import pstats

    results = {}
    for count in (min(counts), max(counts)):
        fresh = copy_project(scratch / "profile" / f"n{count}", data_file, experiments=count)
        for kind, project in (("dry_run", fresh), ("noop", finished[count])):
            out = scratch / "profile" / f"{kind}-n{count}.prof"
            cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "snakemake"]
            cmd += snakemake_run(cores=cores)[3:] + (["-n"] if kind == "dry_run" else [])
            subprocess.run(cmd, cwd=project, env=bench_run.clean_env(), capture_output=True, check=True)
            stats = pstats.Stats(str(out)).stats
            total = max(entry[3] for entry in stats.values())
            rows = {"total": round(total, 3)}
            for file_part, function, label in PROFILED:
                calls, cumulative = 0, 0.0
                for (filename, _, name), (_, ncalls, _, cumtime, _) in stats.items():
                    if name == function and filename.endswith(file_part):
                        calls += ncalls
                        cumulative = max(cumulative, cumtime)  # recursive entries repeat the outermost time
                rows[label] = {"calls": calls, "cumulative_s": round(cumulative, 3)}
            results[f"{kind}_n{count}"] = {"profile": str(out), "functions": rows}
    return results


def profile_markdown(profiled, counts):
    low, high = min(counts), max(counts)
    lines = [
        f"| function (cumulative s, calls) | dry run, {low} | dry run, {high} | no-op, {low} | no-op, {high} |",
        "|---|---:|---:|---:|---:|",
    ]
    keys = [f"dry_run_n{low}", f"dry_run_n{high}", f"noop_n{low}", f"noop_n{high}"]
    lines.append(
        "| **total (under cProfile)** | " + " | ".join(f"{profiled[k]['functions']['total']:.2f}" for k in keys) + " |"
    )
    for _, _, label in PROFILED:
        cells = []
        for key in keys:
            row = profiled[key]["functions"][label]
            cells.append(f"{row['cumulative_s']:.2f} ({row['calls']})" if row["calls"] else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- summary


def row(figure, label, count, samples, loads, references=()):
    """One figure: median, min and max of its wall and CPU seconds, and the median of the paired ratios to each
    reference (samples and each reference's samples measured side by side, in the same order)."""
    walls = [sample["wall_s"] for sample in samples]
    result = {
        "figure": figure,
        "label": label,
        "experiments": count,
        "values": walls,
        "median": round(statistics.median(walls), 4),
        "min": round(min(walls), 4),
        "max": round(max(walls), 4),
        "cpu_values": [sample["cpu_s"] for sample in samples],
        "cpu_median": round(statistics.median(sample["cpu_s"] for sample in samples), 4),
        "load": round(statistics.median(loads), 2) if loads else None,
        "load_range": [min(loads), max(loads)] if loads else None,
        "ratios_to": [],
    }
    for reference, ref_samples in references:
        entry = {"reference": reference}
        for key, name in (("wall_s", "ratio"), ("cpu_s", "cpu_ratio")):
            ratios = [s[key] / r[key] for s, r in zip(samples, ref_samples, strict=True)]
            entry[name] = round(statistics.median(ratios), 3)
            entry[f"{name}s"] = [round(x, 3) for x in ratios]
        result["ratios_to"].append(entry)
    return result


def summarise(samples, counts, separate, finished, details):
    """The table: one row per figure (and count). samples: figure -> [sample] or figure -> {count: [sample]}."""

    def loads(prefix, suffix=""):
        return [d["load"] for name, d in details.items() if name.startswith(prefix) and name.endswith(suffix)]

    together = row(
        "together_s",
        f"full run, {separate} experiments in one DAG",
        separate,
        samples["together"],
        loads("rep", "-together"),
        [(f"{separate} separate runs of one experiment", samples["separate"])],
    )
    if separate == 10:
        together.update(target=TARGET_TOGETHER, met=together["ratios_to"][0]["ratio"] <= TARGET_TOGETHER)
    rows = [together]
    separate_loads = [d["load"] for name, d in details.items() if "-separate-" in name]
    label = f"{separate} separate runs of one experiment (sum, a fresh copy each)"
    rows.append(row("separate_s", label, separate, samples["separate"], separate_loads))
    low = 1 if 1 in counts else min(c for c in counts if c)
    for figure, label, prefix in (
        ("noop", "no-op rerun", "noop"),
        ("dry_run", "dry run (fresh copy): DAG building", "dry"),
    ):
        for count in counts:
            references = [] if count == low else [(f"{low} experiment(s)", samples[figure][low])]
            references.append(("`snakemake --version`", samples["version"]))
            name = f"{label}, {count} experiment(s)" if count else f"{label}, no experiments file"
            entry = row(
                f"{figure}_s", name, count, samples[figure][count], loads("", f"-{prefix}-n{count}"), references
            )
            if figure == "noop" and count in TARGET_NOOP and low == 1:
                entry.update(target=TARGET_NOOP[count], met=entry["ratios_to"][0]["ratio"] <= TARGET_NOOP[count])
            rows.append(entry)
    rows.append(row("version_s", "`snakemake --version`", None, samples["version"], loads("", "-version")))
    for count, sample in finished.items():
        name = f"full run, {count} experiment(s) (once)" if count else "full run, no experiments file (once)"
        rows.append(row("full_run_once_s", name, count, [sample], [details[f"finished-n{count}"]["load"]]))
    return rows


def markdown(rows, machine, rounds):
    lines = [
        f"{machine['cores']} cores, {machine['platform']}, Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        f"Snakemake plugins installed: {', '.join(machine['snakemake_plugins']) or 'none'}",
        f"load average before/after: {machine['load_before']} / {machine['load_after']}; no-op, dry run and "
        f"--version: {rounds} samples each, full runs one per repetition",
        "",
        "| figure | median wall | min | max | CPU (median) | load (1 min: median, range) | ratio, wall (CPU), median of "
        "pairs | target |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for entry in rows:
        ratio = "; ".join(f"{r['ratio']:.2f}x ({r['cpu_ratio']:.2f}x) {r['reference']}" for r in entry["ratios_to"])
        target = ""
        if "target" in entry:
            target = f"<= {entry['target']}x: {'met' if entry['met'] else 'NOT met'}"
        low, high = entry["load_range"]
        lines.append(
            f"| {entry['label']} | {entry['median']:.2f} s | {entry['min']:.2f} | {entry['max']:.2f} | "
            f"{entry['cpu_median']:.2f} s | {entry['load']} ({low}-{high}) | {ratio} | {target} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of data (default 10000)")
    parser.add_argument(
        "--counts",
        type=int,
        nargs="+",
        default=[0, 1, 10, 50],
        help="experiments in the no-op and dry-run projects; 0 = no experiments file (default 0 1 10 50)",
    )
    parser.add_argument(
        "--separate", type=int, default=10, help="experiments of the together/separate comparison (default 10)"
    )
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of no-op, dry run and --version per repetition (default 3)"
    )
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    parser.add_argument("--profile", action="store_true", help="cProfile the dry run and no-op (fewest, most)")
    parser.add_argument(
        "--omp-wait-policy",
        default=bench_run.DEFAULT_OMP_WAIT_POLICY,
        help="OMP_WAIT_POLICY for every measured command (default PASSIVE, as bench/run.py)",
    )
    parser.add_argument(
        "--keep-slurm-probe", action="store_true", help="do not stub `scontrol` (as bench/run.py; see its STUB_DIR)"
    )
    parser.add_argument("--scratch", type=Path, help="work folder (default: a temporary folder, removed after)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "experiments.json", help="results JSON")
    args = parser.parse_args(argv)
    counts = sorted(set(args.counts))

    bench_run.ENV_OVERRIDES["OMP_WAIT_POLICY"] = args.omp_wait_policy
    machine = bench_run.machine_info()
    machine["omp_wait_policy"] = args.omp_wait_policy or None
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="snaketrain-bench-experiments-"))
    if scratch.exists() and args.scratch:
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    machine["slurm_probe_stubbed"] = not args.keep_slurm_probe
    if not args.keep_slurm_probe:
        bench_run.STUB_DIR = str(bench_run.stub_slurm_probe(scratch / "stub-bin"))
    command = " ".join(["python bench/experiments.py", *(argv if argv is not None else sys.argv[1:])])
    results = {"command": command, "machine": machine, "rows": args.rows, "counts": counts}
    results.update(separate=args.separate, repetitions=args.repetitions, cores=args.cores)
    started = time.perf_counter()
    try:
        data_file = bench_run.generate_data(args.rows, scratch / "data" / f"rows{args.rows}.parquet")
        timer = Timer(scratch / "logs")
        finished, finished_s = finished_projects(scratch, data_file, counts, args.cores, timer)
        dry = {count: copy_project(scratch / "dry" / f"n{count}", data_file, experiments=count) for count in counts}
        samples = {"together": [], "separate": [], "version": []}
        samples.update(noop={count: [] for count in counts}, dry_run={count: [] for count in counts})
        checks = []
        for index in range(args.repetitions):
            here = scratch / f"rep{index}"
            figures, check = together_and_separate(index, here, data_file, args.separate, args.cores, timer)
            checks.append(check)
            samples["together"].append(figures["together"])
            samples["separate"].append(figures["separate"])
            # the cheap figures: several rounds, the counts in rotating order, each round's values side by side
            for turn in range(args.rounds):
                step = index * args.rounds + turn
                tag = f"rep{index}-round{turn}"
                samples["version"].append(timer(f"{tag}-version", bench_run.snakemake_cmd("--version"), here))
                for count in rotated(counts, step):
                    noop = timer(f"{tag}-noop-n{count}", snakemake_run(cores=args.cores), finished[count])
                    samples["noop"][count].append(noop)
                for count in rotated(counts, step + 1):
                    dry_run = timer(f"{tag}-dry-n{count}", snakemake_run("-n", cores=args.cores), dry[count])
                    samples["dry_run"][count].append(dry_run)
            print(
                f"repetition {index + 1}: together {figures['together']}, separate {figures['separate']}, "
                f"load {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
                flush=True,
            )
        if args.profile:
            results["profile"] = profile(scratch, data_file, [c for c in counts if c], finished, args.cores)
    finally:
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)
    machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["checks"] = checks
    results["commands"] = timer.details
    results["table"] = summarise(samples, counts, args.separate, finished_s, timer.details)
    results["markdown"] = markdown(results["table"], machine, args.repetitions * args.rounds)
    if "profile" in results:
        results["profile_markdown"] = profile_markdown(results["profile"], [c for c in counts if c])
        results["markdown"] += (
            "\n\nWhere the planning time goes (cProfile, one run each):\n\n" + results["profile_markdown"]
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(results["markdown"])
    print(f"\njobs: together {checks[0]['together_jobs']}; separate {checks[0]['separate_jobs']}")
    print(f"every separate run's comparison equals its experiment's: {all(c['same_comparisons'] for c in checks)}")
    return results


if __name__ == "__main__":
    main()
