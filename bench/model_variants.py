"""A model entry's variants on the features of finished pipeline runs: how the default search spaces were chosen.

For each table folder of `python bench/automl.py --scratch DIR` (snaketrain-<table>, a finished default run), each
variant of a model entry is tuned and trained as the pipeline does (tune_model.tune with the default tuning settings,
then train_model.train with the decision threshold on a binary task) on the run's training features, and scored on
its test features: ROC AUC of the positive class (binary), macro one-vs-rest ROC AUC (multiclass), RMSE (regression),
with the F1 that selection ranks on. The variants file maps a name to an entry per task kind, e.g.

    {"base": {"classification": {}, "regression": {}},
     "small_trees": {"classification": {"search_space": {"num_leaves": [4, 7, 15, 31], "min_child_samples": [20, 100]}}}}

    python bench/model_variants.py DIR variants.json [--model lightgbm] [--tables telco_churn ...]
"""

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import yaml

# bench/ is on sys.path: the script runs as `python bench/model_variants.py`
from automl import ROOT, score  # the metric bench/automl.py judges with
from sklearn.metrics import f1_score

from snaketrain.stages.train_model import threshold_settings, train
from snaketrain.stages.tune_model import tune

# the default tuning settings (config/config.yaml), as the pipeline's default run uses them
TUNING = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["tuning"]


def test_scores(task, model, X, y, positive):
    """(metric, F1): the benchmark's metric and the F1 selection ranks on (None for regression)."""
    if task == "regression":
        return score(task, y, model.predict(X), None)[1], None
    _, metric = score(task, y, model.predict_proba(X), list(model.classes_), positive)
    average = {"pos_label": positive} if task == "binary" else {"average": "macro"}
    return metric, float(f1_score(y, model.predict(X), **average))


def one_variant(features, model, entry):
    schema = json.loads((features / "schema.json").read_text())
    task, target = schema["task"], schema["target"]
    train_set, test_set = pd.read_parquet(features / "train.parquet"), pd.read_parquet(features / "test.parquet")
    X, y = train_set.drop(columns=[target]), train_set[target]
    tuning = TUNING
    threshold = threshold_settings(task, y, None, tuning["cv"], tuning["holdout_above"])
    spec = {"estimator": model, **entry}
    started = time.perf_counter()
    best, cv_score, _, _ = tune(model, spec, tuning, task, X, y, threads=2)
    tuned = time.perf_counter()
    fitted = train(model, spec, best, task, tuning["seed"], X, y, threads=2, threshold=threshold)
    trained = time.perf_counter()
    positive = threshold["positive"] if threshold else None
    metric, f1 = test_scores(task, fitted, test_set.drop(columns=[target]), test_set[target], positive)
    return {
        "task": task,
        "metric": metric,
        "f1": f1,
        "cv_score": cv_score,
        "best_params": best,
        "tune_s": round(tuned - started, 1),
        "train_s": round(trained - tuned, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scratch", type=Path, help="bench/automl.py's --scratch folder (finished runs)")
    parser.add_argument("variants", type=Path, help="JSON: variant name -> {classification|regression: entry}")
    parser.add_argument("--model", default="lightgbm")
    parser.add_argument("--tables", nargs="*", help="default: every snaketrain-<table> folder")
    args = parser.parse_args(argv)
    variants = json.loads(args.variants.read_text())
    tables = args.tables or sorted(p.name.removeprefix("snaketrain-") for p in args.scratch.glob("snaketrain-*"))
    results = {}
    for table in tables:
        features = args.scratch / f"snaketrain-{table}" / "results" / "features"
        kind = (
            "regression"
            if json.loads((features / "schema.json").read_text())["task"] == "regression"
            else "classification"
        )
        for name, entries in variants.items():
            if kind in entries:
                result = one_variant(features, args.model, entries[kind])
                results.setdefault(table, {})[name] = result
                print(table, name, json.dumps(result), flush=True)
    args.variants.with_suffix(".results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
