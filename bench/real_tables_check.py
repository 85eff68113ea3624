"""Issue 32's acceptance, measured: the default pipeline on each real table of bench/real_tables.py, judged against
the naive rule (its gate) and against a plain scikit-learn script on exactly the pipeline's test split.

    python bench/real_tables_check.py                                  # every table, one at a time (--cores 2)
    python bench/real_tables_check.py --tables sacramento zip_churn    # only these
    python bench/real_tables_check.py --scratch /tmp/rt --reuse        # analyse finished copies again, no rerun

Per table, in a fresh copy of the project (workflow/, scripts/, config/, profiles/, as bench/run.py copies it;
no experiments file), with the copy's own package on PYTHONPATH: `snakemake --cores 2 --configfile <overlay>`
(the overlay names only the CSV and the target), timed with the 1-minute load average at its start and end. Then
it reads what the run produced: rows (validation), the gate's decision (results/gate/decision.json: passed, its
reasons, the naive rule and its score beside the model's, positive class, threshold) and the best model
(results/comparison/best.json), and scores on the test rows of results/split/test.parquet (rows with a target):

  ours   the registered production version (registry/, loaded through snaketrain.registry.inference as predict
         does); when the gate refused, the best model's own answers on the test rows
         (results/evaluation/<model>/answers.parquet, class scores in the model's class order)
  plain  HistGradientBoosting{Classifier,Regressor}(random_state=0), otherwise default settings, fitted on
         results/split/train.parquet (rows with a target): text columns as pandas categories with
         categorical_features="from_dtype" (categories of the training part; a text column with more distinct
         values than the 255 bins native categories allow is dropped: tail numbers, job titles), dates (text
         columns that parse as dates) as their year, month and day numbers, booleans as 0/1, numbers as they are
         (as the pipeline's split holds them: a zip code written as a number stays a number)

Metrics: ROC AUC of the pipeline's positive class (binary), macro one-vs-rest ROC AUC (multiclass), RMSE
(regression). The difference ours - plain (plain - ours for RMSE: positive = ours better) comes with a 95 %
interval from a paired bootstrap of the test rows (1,000 resamples, seed 0): "within noise" when its upper end is
above 0. Results: bench/real-tables-check.json, a markdown table in bench/README.md between the markers
<!-- real-tables-check --> and <!-- /real-tables-check --> (--no-readme: stdout only).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# bench/ is on sys.path (the script runs as `python bench/real_tables_check.py`)
import real_tables
import run as bench_run

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "real-tables-check.json"
README = ROOT / "bench" / "README.md"
MARKERS = ("<!-- real-tables-check -->", "<!-- /real-tables-check -->")
MAX_CATEGORIES = 255  # HistGradientBoosting's native categories: at most max_bins (255) values per column
RESAMPLES = 1000
SEED = 0


# ---- running the pipeline on a table


def copy_project(dest):
    """A fresh copy of the workflow as a user's checkout holds it (no experiments file, no results)."""
    dest.mkdir(parents=True)
    for part in bench_run.PROJECT_PARTS:
        shutil.copytree(ROOT / part, dest / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "config" / "experiments.yaml").unlink(missing_ok=True)
    return dest


def run_pipeline(project, overlay, cores):
    """snakemake --cores N --configfile overlay in project; {wall_s, returncode, load_start, load_end, log}."""
    env = bench_run.clean_env()
    env["PYTHONPATH"] = str(project / "scripts")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = project / "run.log"
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    with open(log, "w") as out:
        cmd = bench_run.snakemake_cmd("--cores", str(cores), "--configfile", str(overlay))
        code = subprocess.run(cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.perf_counter() - started
    record = {
        "wall_s": round(wall, 1),
        "returncode": code,
        "load_start": load_start,
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "command": f"snakemake --cores {cores} --configfile {overlay}",
    }
    (project / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


# ---- the plain scikit-learn script


def _is_text(series):
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _as_dates(series):
    """The column as datetimes when (nearly) every value parses as a date, else None."""
    values = series.dropna()
    if values.empty or not _is_text(series):
        return None
    sample = values.astype(str).head(200)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return None
    parsed = pd.to_datetime(series, errors="coerce", format="mixed")
    return parsed if parsed.notna().sum() >= 0.95 * len(values) else None


def plain_frames(train, test):
    """The plain script's X_train, X_test and what it did with each column ({column: how})."""
    X_train, X_test, how = pd.DataFrame(index=train.index), pd.DataFrame(index=test.index), {}
    for column in train.columns:
        dates = _as_dates(train[column])
        if dates is not None:
            other = pd.to_datetime(test[column], errors="coerce", format="mixed")
            for part in ("year", "month", "day"):
                X_train[f"{column}_{part}"] = getattr(dates.dt, part).astype("float64")
                X_test[f"{column}_{part}"] = getattr(other.dt, part).astype("float64")
            how[column] = "date: year, month, day"
        elif _is_text(train[column]) or isinstance(train[column].dtype, pd.CategoricalDtype):
            categories = sorted(train[column].dropna().astype(str).unique())
            if len(categories) > MAX_CATEGORIES:
                how[column] = f"dropped ({len(categories)} values > {MAX_CATEGORIES})"
                continue
            kind = pd.CategoricalDtype(categories)
            X_train[column] = train[column].astype("string").astype(kind)
            seen = test[column].astype("string")
            X_test[column] = seen.where(seen.isin(categories)).astype(kind)  # unseen values: missing
            how[column] = "category"
        elif pd.api.types.is_bool_dtype(train[column]):
            X_train[column] = train[column].astype("float64")
            X_test[column] = test[column].astype("float64")
            how[column] = "number (0/1)"
        else:
            X_train[column] = pd.to_numeric(train[column], errors="coerce")
            X_test[column] = pd.to_numeric(test[column], errors="coerce")
            how[column] = "number"
    return X_train, X_test, how


def plain_scores(train, test, target, task):
    """The plain script's answers on the test rows: regression predictions, or (classes, probabilities)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X_train, X_test, how = plain_frames(train.drop(columns=[target]), test.drop(columns=[target]))
    if task == "regression":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        model.fit(X_train, train[target].astype("float64"))
        return model.predict(X_test), None, how
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(X_train, train[target].astype(str))
    return model.predict_proba(X_test), [str(c) for c in model.classes_], how


# ---- the pipeline's own answers


def registered_scores(project, name, test, target, task):
    """The production version's answers on the test rows (as predict gets them), or None when none is registered."""
    # the installed package: the copy's scripts/ are this checkout's
    from snaketrain.registry import inference, model_registry

    registry = project / "registry"
    if not registry.is_dir() or not model_registry.production(registry, name):
        return None
    loaded = inference.load_production(registry, name, project=str(project))
    prediction = inference.predict(loaded, test.drop(columns=[target]))
    if task == "regression":
        return np.asarray(prediction.labels, dtype="float64"), None, loaded.version
    return np.asarray(prediction.probabilities), [str(c) for c in prediction.classes], loaded.version


def answer_scores(project, model, task):
    """The best model's answers on the test rows (results/evaluation/<model>/answers.parquet)."""
    answers = pd.read_parquet(project / "results" / "evaluation" / model / "answers.parquet")
    if task == "regression":
        return answers["prediction"].to_numpy("float64"), None
    columns = sorted((c for c in answers.columns if c.startswith("score_")), key=lambda c: int(c.split("_")[1]))
    return answers[columns].to_numpy("float64"), None


# ---- metrics


def metric_name(task):
    return {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "regression": "rmse"}[task]


def score(task, y, answers, classes, positive):
    from sklearn.metrics import roc_auc_score

    if task == "regression":
        return float(np.sqrt(np.mean((np.asarray(y, dtype="float64") - answers) ** 2)))
    if task == "binary":
        return float(roc_auc_score(np.asarray(y) == positive, answers[:, classes.index(positive)]))
    return float(roc_auc_score(np.asarray(y), answers, multi_class="ovr", average="macro", labels=classes))


def paired_difference(task, y, ours, ours_classes, plain, plain_classes, positive):
    """ours - plain (plain - ours for RMSE), and its 95 % paired bootstrap interval over the test rows."""
    y = np.asarray(y)
    sign = -1.0 if task == "regression" else 1.0
    point = sign * (score(task, y, ours, ours_classes, positive) - score(task, y, plain, plain_classes, positive))
    rng = np.random.default_rng(SEED)
    draws = []
    for _ in range(RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        if task != "regression" and len(np.unique(y[rows])) < len(np.unique(y)):
            continue
        a = score(task, y[rows], ours[rows], ours_classes, positive)
        b = score(task, y[rows], plain[rows], plain_classes, positive)
        draws.append(sign * (a - b))
    low, high = np.quantile(draws, [0.025, 0.975])
    return point, float(low), float(high)


# ---- one table


def read_json(path):
    return json.loads(Path(path).read_text()) if Path(path).is_file() else None


def judge(name, project, record):
    """What the run produced and how its model compares with the plain script's."""
    overlay = real_tables.TABLES[name]  # the table's function: target name
    _, target = overlay()
    results = project / "results"
    decision = read_json(results / "gate" / "decision.json")
    best = read_json(results / "comparison" / "best.json")
    validation = read_json(results / "validation" / "report.json")
    row = {"table": name, "target": target, **record}
    if not (results / "split" / "test.parquet").is_file() or decision is None or best is None:
        row["outcome"] = "stopped"
        row["error"] = _failure(project)
        row["task"] = _task(results)
        return row
    train = pd.read_parquet(results / "split" / "train.parquet")
    test = pd.read_parquet(results / "split" / "test.parquet")
    train, test = train[train[target].notna()], test[test[target].notna()]
    task = best["task"]
    positive = decision.get("positive_class") if task == "binary" else None
    naive = decision.get("naive") or {}
    row.update(
        task=task,
        rows=int(len(train) + len(test)),
        train_rows=int(len(train)),
        test_rows=int(len(test)),
        validation_warnings=_warnings(validation),
        passed=decision["passed"],
        outcome="promoted" if decision["passed"] else "refused",
        reasons=decision.get("reasons", []),
        checks=decision.get("checks", []),
        naive_rule=naive.get("naive_rule"),
        selection_metric=decision["metric"],
        naive_score=naive.get("bound"),
        model_score=decision.get("value"),
        naive_test=naive.get("test"),
        naive_lower_bound=naive.get("lower_bound"),
        positive_class=positive,
        threshold=decision.get("threshold"),
        best_model=best["best_model"],
        best_metrics=best["metrics"],
    )
    text_positive = None if positive is None else str(positive)
    registered = registered_scores(project, decision.get("name", name), test, target, task)
    if registered is not None:
        ours, ours_classes, version = registered
        row["ours_from"] = f"registered version {version}"
    else:
        ours, _ = answer_scores(project, best["best_model"], task)
        ours_classes = sorted(str(c) for c in train[target].dropna().unique())  # classes_ order: sorted labels
        row["ours_from"] = f"answers of {best['best_model']} (nothing registered)"
    plain, plain_classes, how = plain_scores(train, test, target, task)
    y = test[target].astype("float64") if task == "regression" else test[target].astype(str)
    answers, _ = answer_scores(project, best["best_model"], task)  # the run's own evaluation: the same numbers
    sorted_classes = sorted(str(c) for c in train[target].dropna().unique())
    row["ours_answers"] = round(score(task, y, answers, sorted_classes, text_positive), 4)
    if task != "regression" and plain_classes != ours_classes:  # reorder the plain script's columns to ours
        plain = plain[:, [plain_classes.index(c) for c in ours_classes]]
    row["metric"] = metric_name(task)
    row["ours"] = round(score(task, y, ours, ours_classes, text_positive), 4)
    row["plain"] = round(score(task, y, plain, ours_classes, text_positive), 4)
    point, low, high = paired_difference(task, y, ours, ours_classes, plain, ours_classes, text_positive)
    row["difference"], row["difference_95"] = round(point, 6), [round(low, 6), round(high, 6)]
    row["within_noise"] = bool(high > 0)
    row["plain_columns"] = how
    return row


def _task(results):
    report = read_json(results / "validation" / "report.json") or {}
    return report.get("task")


def _warnings(validation):
    if not validation:
        return []
    return [
        f"{c['check']}{' ' + c['column'] if c.get('column') else ''}"
        for c in validation.get("checks", [])
        if c.get("verdict") == "warn"
    ]


def _failure(project):
    """The first error lines of the run's log (a stage's explained error)."""
    text = (project / "run.log").read_text() if (project / "run.log").is_file() else ""
    lines = [line for line in text.splitlines() if "Error" in line or "error" in line]
    return " | ".join(lines[:3])[:600]


# ---- the table in bench/README.md


def _num(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.3f}"


def _signed(value):
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.4f}"


def _gate(row):
    """The gate's outcome and reason in short."""
    if row["outcome"] == "stopped":
        return f"stopped: {row.get('error', '')[:120]}"
    naive = next((c for c in row["checks"] if c.get("check", "").startswith("vs naive rule")), {})
    gain = ""
    if naive.get("lower_bound") is not None:
        gain = f"{naive.get('test')} gain's 95 % lower bound {_num(naive['lower_bound'])}"
    threshold = f", threshold {row['threshold']:.3f}" if row.get("threshold") is not None else ""
    if row["passed"]:
        return f"promoted {row['best_model']}{threshold}: beats the naive rule ({gain})"
    failed = [c for c in row["checks"] if c.get("verdict") == "fail"]
    if failed and failed[0] is naive:
        return f'refused {row["best_model"]}: no better than the naive rule "{naive["naive_rule"]}" ({gain})'
    return f"refused {row['best_model']}: " + "; ".join(c.get("reason", "") for c in failed)[:160]


def markdown(rows):
    head = (
        "| table | task (positive) | rows | gate | selection metric: naive rule / model | our metric | plain script "
        "| difference [95 %] | wall s (load) |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        task = row.get("task") or "-"
        if row.get("positive_class") is not None:
            task += f" ({row['positive_class']})"
        load = f"{row['load_start'][0]:.1f}-{row['load_end'][0]:.1f}"
        if row["outcome"] == "stopped":
            lines.append(
                f"| {row['table']} | {task} | - | {_gate(row)} | - | - | - | - | {row['wall_s']:.0f} ({load}) |"
            )
            continue
        selection = f"{row['selection_metric']}: {_num(row['naive_score'])} / {_num(row['model_score'])}"
        low, high = row["difference_95"]
        diff = f"{_signed(row['difference'])} [{_signed(low)}, {_signed(high)}]"
        lines.append(
            f"| {row['table']} | {task} | {row['rows']:,} | {_gate(row)} | {selection} | {row['metric']} "
            f"{_num(row['ours'])} | {_num(row['plain'])} | {diff} | {row['wall_s']:.0f} ({load}) |"
        )
    return head + "\n".join(lines) + "\n"


def write_readme(table, readme=README):
    text = readme.read_text()
    start, end = MARKERS
    block = f"{start}\n{table}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


# ---- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="*", choices=sorted(real_tables.TABLES), help="default: every table")
    parser.add_argument("--scratch", default=str(ROOT / "bench" / "work" / "real-tables"), help="copies and CSVs")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="a table whose copy finished is analysed, not rerun")
    parser.add_argument("--no-readme", action="store_true", help="print the table; leave bench/README.md alone")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    scratch = Path(args.scratch).resolve()
    names = args.tables or list(real_tables.TABLES)
    data = scratch / "tables"
    previous = {row["table"]: row for row in (read_json(args.results) or {}).get("tables", [])}
    rows = {}
    for name in names:
        project = scratch / name
        overlay = data / f"{name}.yaml"
        if not (args.reuse and (project / "run.json").is_file()):
            real_tables.write(data, [name])
            shutil.rmtree(project, ignore_errors=True)
            copy_project(project)
            print(f"{name}: running the pipeline in {project}", file=sys.stderr, flush=True)
            record = run_pipeline(project, overlay, args.cores)
        else:
            record = read_json(project / "run.json")
        rows[name] = judge(name, project, record)
        print(f"{name}: {rows[name]['outcome']} in {record['wall_s']:.0f} s", file=sys.stderr, flush=True)
        merged = {**previous, **rows}
        ordered = [merged[n] for n in real_tables.TABLES if n in merged]
        machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
        Path(args.results).write_text(json.dumps({"machine": machine, "tables": ordered}, indent=2) + "\n")
    table = markdown(ordered)
    print(table)
    if not args.no_readme:
        write_readme(table)


if __name__ == "__main__":
    main()
