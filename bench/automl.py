"""Time to a good model: the default pipeline against FLAML with a 60-second budget, side by side on real tables.

For each table of bench/real_tables.py (the real ones: binary, multiclass and regression, 932 to 32,735 rows), on
this machine, one after the other:

  snaketrain  `snakemake --cores 2 --configfile <table overlay>` in a fresh copy of the project (workflow/, scripts/,
              config/, profiles/: a user's checkout), in the environment given by --python (the light install of
              `make run`: requirements.txt alone); its time is the wall time of the whole command (everything up to
              the deployed model and the report). The per-job times come from the run's own benchmarks/ files.
  FLAML       AutoML.fit(time_budget=60, n_jobs=2, seed) on the pipeline's own training part (results/split/
              train.parquet: the same rows, the same 20 % held out by split.seed, stratified for classification),
              optimising the metric it is judged on; its time is the fit's wall time.

Both are scored on the same held-out rows (results/split/test.parquet): snaketrain's registered production model
(the Pipeline `predict` and the service use, loaded from the copy's registry), else, when the gate refused every
model, the best model of the comparison (marked "not promoted"). Metrics: ROC AUC for binary tasks (of the
positive class: the rare one), macro one-vs-rest ROC AUC for multiclass, RMSE for regression.

    python bench/automl.py --python /work/light/bin/python                 # every real table, 60 s budget
    python bench/automl.py --tables telco_churn hotel_rates --python ...   # a subset
    python bench/automl.py --skip-flaml --tables ...                       # the pipeline alone (FLAML's last figures kept)

It writes bench/automl.json (every value: times, metrics, per-rule job times, load averages, versions) and the
table between the markers of bench/README.md's "Time to a good model" section. FLAML is a bench-only dependency
(requirements-bench.txt). The load average is recorded before and after each side: re-run on a quiet machine.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ is on sys.path: the script runs as `python bench/automl.py` (the tests put it there)
import real_tables  # noqa: E402

PROJECT_PARTS = ("workflow", "scripts", "config", "profiles")
# the real tables (credit_noise has nothing to learn; zip_churn is generated)
TABLES = tuple(name for name in real_tables.TABLES if name not in ("credit_noise", "zip_churn"))
RESULTS_JSON = ROOT / "bench" / "automl.json"
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- automl:begin -->", "<!-- automl:end -->"
# OpenMP's spin-wait makes preempted fits several times slower on a shared machine (bench/README.md); both sides
ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
# what is judged against what: time at most 1.0x FLAML's and the metric at least FLAML's on the median table; no
# table worse than 1.5x in time, 0.01 ROC AUC or 3 % RMSE
WORST_RATIO, WORST_AUC, WORST_RMSE = 1.5, 0.01, 0.03


def load():
    return [round(x, 2) for x in os.getloadavg()]


def copy_project(dest):
    dest.mkdir(parents=True)
    for part in PROJECT_PARTS:
        shutil.copytree(ROOT / part, dest / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def job_times(benchmarks):
    """{rule: {job: seconds}} from the run's Snakemake benchmark files (the job: the file's stem, e.g. the model)."""
    times = {}
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        lines = tsv.read_text().splitlines()
        if len(lines) >= 2:
            rule = tsv.relative_to(benchmarks).parts[0]
            times.setdefault(rule, {})[tsv.stem] = round(float(lines[1].split("\t")[0]), 2)
    return times


def run_pipeline(name, overlay, python, scratch, cores):
    """The default pipeline on one table in a fresh copy: wall time, job times, its test rows and scores."""
    work = copy_project(scratch / f"snaketrain-{name}")
    env = {**os.environ, **ENV, "PYTHONPATH": str(work / "scripts")}
    env = {key: value for key, value in env.items() if not key.startswith("SNAKETRAIN_")}
    cmd = [python, "-m", "snakemake", "--cores", str(cores), "--configfile", str(overlay)]
    before = load()
    started = time.perf_counter()
    with open(work / "run.log", "w") as log:
        code = subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.perf_counter() - started
    after = load()
    deploy = work / "results" / "deploy" / "receipt.json"
    result = {
        "wall_s": round(wall, 2),
        "returncode": code,
        "load_before": before,
        "load_after": after,
        "jobs": job_times(work / "benchmarks"),
        "work": str(work),
        "promoted": deploy.is_file(),
    }
    for path, key in ((work / "results/comparison/best.json", "best"), (work / "results/gate/decision.json", "gate")):
        if path.is_file():
            result[key] = json.loads(path.read_text())
    return result


def split_parts(work):
    import pandas as pd

    train = pd.read_parquet(work / "results" / "split" / "train.parquet")
    test = pd.read_parquet(work / "results" / "split" / "test.parquet")
    report = json.loads((work / "results" / "validation" / "report.json").read_text())
    return train, test, report["target"], report["task"]


def pipeline_scores(work, name, test, target, task):
    """The production model's scores on the test rows (probabilities per class, or predictions), and its classes;
    the comparison's best model when nothing was promoted."""
    from snaketrain.registry import inference  # the package of this checkout (PYTHONPATH=scripts, or installed)

    X = test.drop(columns=[target])
    try:
        loaded = inference.load_production(str(work / "registry"), name, stage="bench", project=str(work))
        predicted = inference.predict(loaded, X, stage="bench")
        if task == "regression":
            return predicted.labels, None
        return predicted.probabilities, list(loaded.classes)
    except Exception as error:  # nothing promoted: score the best model of the comparison
        import joblib

        print(f"  {name}: no production model ({type(error).__name__}); scoring the comparison's best", flush=True)
        best = json.loads((work / "results" / "comparison" / "best.json").read_text())["best_model"]
        pipeline = inference.make_pipeline(
            joblib.load(work / "results" / "features" / "preprocessor.joblib"),
            joblib.load(work / "results" / "models" / f"{best}.joblib"),
        )
        rows = X[list(pipeline.feature_names_in_)] if hasattr(pipeline, "feature_names_in_") else X
        if task == "regression":
            return pipeline.predict(rows), None
        return pipeline.predict_proba(rows), list(pipeline.classes_)


def positive_class(y_train):
    """The rare class of the training part (ties: the larger label), as data.positive_class: null chooses it."""
    counts = y_train.value_counts()
    rare = counts[counts == counts.min()].index
    return sorted(rare, key=str)[-1]


def score(task, y_test, values, classes, positive=None):
    """ROC AUC of the positive class (binary), macro one-vs-rest ROC AUC (multiclass), RMSE (regression)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score, root_mean_squared_error

    if task == "regression":
        return "rmse", float(root_mean_squared_error(np.asarray(y_test, dtype=float), np.asarray(values, dtype=float)))
    values = np.asarray(values, dtype=float)
    labels = [str(c) for c in classes]
    truth = np.asarray(y_test).astype(str)
    if task == "binary":
        column = labels.index(str(positive))
        return "roc_auc", float(roc_auc_score(truth == str(positive), values[:, column]))
    return "roc_auc_ovr", float(roc_auc_score(truth, values, multi_class="ovr", average="macro", labels=labels))


def run_flaml(train, test, target, task, budget, cores, seed):
    """FLAML on the training part, optimising the judged metric; its fit time and its scores on the test rows."""
    from flaml import AutoML

    X, y = _for_flaml(train.drop(columns=[target])), train[target]
    X_test = _for_flaml(test.drop(columns=[target]))
    metric = {"binary": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "rmse"}[task]
    automl = AutoML()
    before = load()
    started = time.perf_counter()
    automl.fit(
        X,
        y if task == "regression" else y.astype(str),
        task="regression" if task == "regression" else "classification",
        metric=metric,
        time_budget=budget,
        n_jobs=cores,
        seed=seed,
        verbose=0,
    )
    wall = time.perf_counter() - started
    after = load()
    if task == "regression":
        values, classes = automl.predict(X_test), None
    else:
        values, classes = automl.predict_proba(X_test), [str(c) for c in automl.classes_]
    return {
        "wall_s": round(wall, 2),
        "load_before": before,
        "load_after": after,
        "best_estimator": automl.best_estimator,
        "best_config": {k: _plain(v) for k, v in (automl.best_config or {}).items()},
    }, (values, classes)


def _for_flaml(X):
    """Text columns as pandas categories (what FLAML's own preprocessing makes of object columns; pandas 3's string
    dtype it does not know)."""
    import pandas as pd

    X = X.copy()
    for column in X.columns:
        if not (pd.api.types.is_numeric_dtype(X[column]) or pd.api.types.is_bool_dtype(X[column])):
            X[column] = X[column].astype("object").astype("category")
    return X


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def seed_of(work):
    import yaml

    return yaml.safe_load((work / "config" / "config.yaml").read_text())["split"]["seed"]


def scaling(sizes, python, scratch, cores):
    """The default pipeline alone on generated tables of each size (bench/run.py's: make_classification, 20 numeric
    features, 10 informative, binary): {rows: wall time, job times}, to say what 100,000 and 1,000,000 rows cost."""
    from run import generate_data  # bench/run.py, the orchestration benchmark's data

    results = {}
    for rows in sizes:
        data = generate_data(rows, scratch / "data" / f"generated_{rows}.parquet")
        overlay = scratch / "data" / f"generated_{rows}.yaml"
        overlay.write_text(
            f"data:\n  name: generated_{rows}\n  source: file\n  path: {data}\n  format: parquet\n  target: target\n"
        )
        print(f"generated {rows:,} rows: running (load {load()})", flush=True)
        entry = run_pipeline(f"generated_{rows}", overlay, python, scratch, cores)
        results[str(rows)] = {key: value for key, value in entry.items() if key not in ("best", "gate")}
        print(f"  {entry['wall_s']} s, promoted: {entry['promoted']}", flush=True)
    return results


def scaling_markdown(runs):
    lines = [
        "| rows | wall time | load (1 min) | tune_model | train_model | evaluate_model | other jobs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, entry in sorted(runs.items(), key=lambda item: int(item[0])):
        per_rule = {rule: sum(jobs.values()) for rule, jobs in entry["jobs"].items()}
        main = [per_rule.get(rule, 0.0) for rule in ("tune_model", "train_model", "evaluate_model")]
        other = sum(per_rule.values()) - sum(main)
        lines.append(
            f"| {int(rows):,} | {entry['wall_s']:.1f} s | {entry['load_before'][0]} | "
            + " | ".join(f"{value:.1f} s" for value in (*main, other))
            + " |"
        )
    return "\n".join(lines)


def one_table(name, overlay, args, scratch, previous):
    pipeline = run_pipeline(name, overlay, args.python, scratch, args.cores)
    work = Path(pipeline["work"])
    train, test, target, task = split_parts(work)
    positive = positive_class(train[target]) if task == "binary" else None
    entry = {"rows": len(train) + len(test), "test_rows": len(test), "task": task, "pipeline": pipeline}
    values, classes = pipeline_scores(work, name, test, target, task)
    metric, ours = score(task, test[target], values, classes, positive)
    entry.update(metric=metric, snaketrain=round(ours, 6), positive_class=_plain(positive))
    if args.skip_flaml and name in previous:
        entry["flaml"] = previous[name]["flaml"]
    else:
        flaml, (values, classes) = run_flaml(train, test, target, task, args.budget, args.cores, seed_of(work))
        _, theirs = score(task, test[target], values, classes, positive)
        entry["flaml"] = {**flaml, "metric": round(theirs, 6), "budget_s": args.budget}
    return entry


def judged(entry):
    """Time ratio (ours / FLAML's budget) and quality: how much better snaketrain's metric is, one sign for every
    metric (ROC AUC: ours - FLAML's; RMSE: the relative reduction (FLAML's - ours) / FLAML's), so positive is better
    for us; each judged against its own bound."""
    # against FLAML's budget (its fit overruns it by a few seconds, more under load): the time a user gives it
    ratio = entry["pipeline"]["wall_s"] / entry["flaml"].get("budget_s", entry["flaml"]["wall_s"])
    ours, theirs = entry["snaketrain"], entry["flaml"]["metric"]
    if entry["metric"] == "rmse":
        difference = (ours - theirs) / theirs
        quality, allowed = -difference, WORST_RMSE
    else:
        difference = ours - theirs
        quality, allowed = difference, WORST_AUC
    return {
        "ratio": round(ratio, 3),
        "difference": round(difference, 5),
        "quality": round(quality, 5),
        "ratio_within": ratio <= WORST_RATIO,
        "quality_within": quality >= -allowed,
        "within_bounds": ratio <= WORST_RATIO and quality >= -allowed,
    }


def markdown(results):
    machine = results["machine"]
    lines = [
        f"Run of {results['date']}: {machine['cores']} cores, {machine['platform']}, Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
        + f"; pipeline environment `{results['python']}`; FLAML budget {results['budget_s']} s, n_jobs "
        f"{results['cores']}; load average at the start / end: {results['load_start']} / {results['load_end']}.",
        "",
        "| table | task | rows | metric | FLAML | snaketrain | promoted model | snaketrain time | FLAML fit (budget) "
        "| ratio to the budget | snaketrain better by | load (1 min) |",
        "|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    ratios, qualities = [], []
    for name, entry in results["tables"].items():
        verdict = judged(entry)
        ratios.append(verdict["ratio"])
        qualities.append(verdict["quality"])
        best = (entry["pipeline"].get("best") or {}).get("best_model", "?")
        promoted = best if entry["pipeline"]["promoted"] else f"{best} (not promoted)"
        if entry["metric"] == "rmse":
            better = f"{verdict['quality'] * 100:+.1f} % of RMSE"
            values = f"{entry['flaml']['metric']:.4g} | {entry['snaketrain']:.4g}"
        else:
            better = f"{verdict['quality']:+.4f}"
            values = f"{entry['flaml']['metric']:.4f} | {entry['snaketrain']:.4f}"
        better += "" if verdict["quality_within"] else " (!)"
        mark = "" if verdict["ratio_within"] else " (!)"
        budget = entry["flaml"].get("budget_s", results["budget_s"])
        lines.append(
            f"| {name} | {entry['task']} | {entry['rows']:,} | {entry['metric']} | {values} | {promoted} "
            f"| {entry['pipeline']['wall_s']:.1f} s | {entry['flaml']['wall_s']:.1f} s ({budget:g} s) "
            f"| {verdict['ratio']:.2f}x{mark} "
            f"| {better} | {entry['pipeline']['load_before'][0]} |"
        )
    if ratios:
        lines += [
            "",
            f"Median over {len(ratios)} tables: time ratio {statistics.median(ratios):.2f}x, snaketrain better by "
            f"{statistics.median(qualities):+.4f} (ROC AUC points, or the share of FLAML's RMSE that snaketrain's is "
            f"lower: positive means snaketrain is better, negative that FLAML is); worst ratio {max(ratios):.2f}x, "
            f"worst quality {min(qualities):+.4f}. (!) marks a figure beyond its bound: {WORST_RATIO}x the budget, "
            f"{WORST_AUC} ROC AUC or {WORST_RMSE:.0%} of RMSE worse than FLAML.",
        ]
    return "\n".join(lines)


def write_readme(text, readme=README):
    content = readme.read_text()
    if BEGIN in content and END in content:
        head, rest = content.split(BEGIN, 1)
        content = head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1]
    else:
        content = content.rstrip("\n") + f"\n\n{BEGIN}\n{text}\n{END}\n"
    readme.write_text(content)


def machine_info():
    packages = {}
    for name in ("snakemake", "scikit-learn", "lightgbm", "flaml", "pandas", "numpy"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "packages": packages,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="*", choices=sorted(real_tables.TABLES), help="default: the real tables")
    parser.add_argument("--python", default=sys.executable, help="the pipeline's environment (default: this one)")
    parser.add_argument("--budget", type=float, default=60.0, help="FLAML's time budget in seconds")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--scratch", help="keep the work folders here (default: a temporary folder, removed)")
    parser.add_argument("--skip-flaml", action="store_true", help="keep FLAML's figures of bench/automl.json")
    parser.add_argument("--output", default=str(RESULTS_JSON))
    parser.add_argument("--no-readme", action="store_true", help="do not write the table into bench/README.md")
    parser.add_argument(
        "--scaling",
        nargs="+",
        type=int,
        metavar="ROWS",
        help="instead: the default pipeline alone on generated tables of these sizes (e.g. 10000 30000 100000)",
    )
    parser.add_argument("--render", action="store_true", help="only rewrite bench/README.md's table from --output")
    args = parser.parse_args(argv)
    if args.render:
        write_readme(markdown(json.loads(Path(args.output).read_text())))
        return
    if args.scaling:
        scratch = Path(args.scratch or tempfile.mkdtemp(prefix="automl-scaling-"))
        output = Path(args.output)
        old = json.loads(output.read_text()) if output.is_file() else {}
        runs = scaling(args.scaling, args.python, scratch, args.cores)
        old["scaling"] = {**old.get("scaling", {}), **runs}
        old.setdefault("machine", machine_info())
        output.write_text(json.dumps(old, indent=1, sort_keys=True, default=str) + "\n")
        print(scaling_markdown(old["scaling"]))
        return

    output = Path(args.output)
    old = json.loads(output.read_text()) if output.is_file() else {}
    previous = old.get("tables", {})
    names = args.tables or list(TABLES)
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="automl-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    tables_dir = scratch / "tables"
    real_tables.write(tables_dir, names)
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine_info(),
        "python": args.python,
        "budget_s": args.budget,
        "cores": args.cores,
        "load_start": load(),
        "tables": {},
    }
    try:
        for name in names:
            if (scratch / f"snaketrain-{name}").exists():
                shutil.rmtree(scratch / f"snaketrain-{name}")
            print(f"{name}: running (load {load()})", flush=True)
            entry = one_table(name, tables_dir / f"{name}.yaml", args, scratch, previous)
            results["tables"][name] = entry
            verdict = judged(entry)
            print(
                f"  {entry['metric']} FLAML {entry['flaml']['metric']:.4f} in {entry['flaml']['wall_s']} s, "
                f"snaketrain {entry['snaketrain']:.4f} in {entry['pipeline']['wall_s']} s: {verdict}",
                flush=True,
            )
            results["load_end"] = load()
            # a subset keeps the other tables' last figures
            merged = {**old, **results, "tables": {**previous, **results["tables"]}}
            output.write_text(json.dumps(merged, indent=1, sort_keys=True, default=str) + "\n")
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    merged["tables"] = {
        name: merged["tables"][name] for name in TABLES + ("credit_noise", "zip_churn") if name in merged["tables"]
    }
    table = markdown(merged)
    print(table)
    if not args.no_readme:
        write_readme(table)


if __name__ == "__main__":
    main()
