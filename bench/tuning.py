"""Benchmark: successive halving (tuning.method: halving) against grid search, on generated tabular data.

The data: about 50,000 seeded rows, numeric columns (make_classification, some with missing values) and
categorical ones whose levels carry part of the signal, a binary target. The pipeline's own stage functions
split it, build the features (config/config.yaml's settings) and, per model and method, tune (timed), train on
the whole training part and score the test part. Two sets of search spaces:

  default  the catalogue's (and config/config.yaml's) models and search spaces (3-4 candidates each): what
           `make run` tunes; `--models hist_gradient_boosting xgboost lightgbm catboost` compares the families
  wide     18 candidates per model, as a user who tunes in earnest writes them

Grid and halving run back to back per model (the order alternates between models), so that load on a shared
machine hits both alike. Results go to bench/tuning.json and a markdown table to stdout.

    python bench/tuning.py                      # 50,000 rows, both sets, 2 threads
    python bench/tuning.py --rows 20000 --spaces wide
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from snaketrain.model_metrics import score_model, selection_metric
from snaketrain.stages.build_features import fit_transform
from snaketrain.stages.split_data import split
from snaketrain.stages.train_model import train
from snaketrain.stages.tune_model import tune

ROOT = Path(__file__).resolve().parents[1]
# issue 13: the best model's test metric within 1 % of grid search's, at <= 0.4x its tuning time
TARGET_TIME_RATIO = 0.4
TARGET_METRIC_LOSS = 0.01
WIDE = {
    "linear": {
        "estimator": "linear",
        "params": {"max_iter": 1000},
        "search_space": {"C": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "class_weight": [None, "balanced"]},
    },
    "random_forest": {
        "estimator": "random_forest",
        "params": {"n_estimators": 50},
        "search_space": {"max_depth": [None, 16, 8], "min_samples_leaf": [1, 5, 20], "max_features": ["sqrt", 0.5]},
    },
    "hist_gradient_boosting": {
        "estimator": "hist_gradient_boosting",
        "params": {"max_iter": 200},
        "search_space": {
            "learning_rate": [0.03, 0.1, 0.3],
            "max_leaf_nodes": [15, 31, 63],
            "l2_regularization": [0.0, 1.0],
        },
    },
}


def generate(rows, seed=0):
    """Numeric and categorical columns and a binary target; part of the signal is only in the categories."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=12, n_informative=8, n_redundant=2, flip_y=0.03, class_sep=0.8, random_state=seed
    )
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(X[:, :8], columns=[f"num{i}" for i in range(8)])
    frame.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    # categories made from informative columns that are left out: the model sees them only through the levels
    frame["region"] = pd.cut(X[:, 8], 12, labels=[f"r{i:02d}" for i in range(12)]).astype(str)
    frame["plan"] = pd.qcut(X[:, 9], 4, labels=["basic", "plus", "pro", "max"]).astype(str)
    frame["channel"] = rng.choice(["web", "app", "shop", "phone", "partner"], size=rows)
    frame["segment"] = np.where(X[:, 10] + rng.normal(0, 0.5, rows) > 0, "a", "b")
    frame["target"] = y
    return frame


def measure(name, spec, tuning, task, data, threads):
    X, y, X_test, y_test = data
    started = time.perf_counter()
    best, cv_score, _, table = tune(name, spec, tuning, task, X, y, threads)
    seconds = time.perf_counter() - started
    model = train(name, spec, best, task, tuning["seed"], X, y, threads)
    return {
        "tuning_s": round(seconds, 2),
        "candidates": sum(1 for _ in table.itertuples()) if len(table) else 0,
        "best_params": best,
        "cv_score": cv_score,
        "test": score_model(model, X_test, y_test, task),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--spaces", nargs="+", default=["default", "wide"], choices=["default", "wide"])
    parser.add_argument("--cv", type=int, help="cross-validation folds (default: config/config.yaml's)")
    parser.add_argument("--factor", type=int, help="tuning.halving_factor (default: config/config.yaml's)")
    parser.add_argument("--models", nargs="+", help="models to tune (default: config/config.yaml's)")
    parser.add_argument("--threads", type=int, default=2, help="threads of each search (a tune job's default: 2)")
    parser.add_argument("--repetitions", type=int, default=1, help="grid/halving pairs per model (median times)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "tuning.json")
    args = parser.parse_args(argv)

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    task, seed = "binary", config["tuning"]["seed"]
    if args.cv:
        config["tuning"]["cv"] = args.cv
    if args.factor:
        config["tuning"]["halving_factor"] = args.factor
    models = args.models or config["models"]
    frame = generate(args.rows)
    train_set, test_set = split(frame, "target", task, **config["split"])
    _, train_x, test_x, _ = fit_transform(train_set, test_set, "target", config["features"])
    data = (train_x.drop(columns=["target"]), train_x["target"], test_x.drop(columns=["target"]), test_x["target"])
    metric = selection_metric("auto", task)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = {"command": " ".join(["python bench/tuning.py", *(argv or sys.argv[1:])]), "rows": args.rows}
    results.update({"train_shape": list(data[0].shape), "metric": metric, "threads": args.threads})
    results.update({"cv": config["tuning"]["cv"], "halving_factor": config["tuning"]["halving_factor"], "spaces": {}})
    for space_name in args.spaces:
        estimators = config["estimators"] if space_name == "default" else WIDE
        runs = {}
        for index, name in enumerate(models):
            spec = estimators.get(name) or {"estimator": name}  # a family of the catalogue with its defaults
            measured = {"grid": [], "halving": []}
            for repetition in range(args.repetitions):
                # back to back, who goes first alternating, so that load drift hits both alike
                order = ("grid", "halving") if (index + repetition) % 2 == 0 else ("halving", "grid")
                for method in order:
                    tuning = {**config["tuning"], "method": method, "seed": seed}
                    measured[method].append(measure(name, spec, tuning, task, data, args.threads))
                    print(f"{space_name} {name} {method}: {measured[method][-1]}", file=sys.stderr, flush=True)
            # the same seeds give the same parameters and test scores each time: only the times vary
            runs[name] = {
                method: {
                    **repeats[0],
                    "tuning_s": round(statistics.median(r["tuning_s"] for r in repeats), 2),
                    "tuning_s_runs": [r["tuning_s"] for r in repeats],
                }
                for method, repeats in measured.items()
            }
        results["spaces"][space_name] = summarise(runs, metric)
    results["repetitions"] = args.repetitions
    results["load_average"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    results["markdown"] = markdown(results)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(results["markdown"])
    return results


def summarise(runs, metric):
    """Per model: both methods' times and test metric; and the best model of each method (by test metric)."""
    best = {}
    for method in ("grid", "halving"):
        name = max(runs, key=lambda model: runs[model][method]["test"][metric])
        best[method] = {"model": name, metric: runs[name][method]["test"][metric]}
    grid_time = sum(run["grid"]["tuning_s"] for run in runs.values())
    halving_time = sum(run["halving"]["tuning_s"] for run in runs.values())
    return {
        "models": runs,
        "best": best,
        "tuning_s": {"grid": round(grid_time, 2), "halving": round(halving_time, 2)},
        "time_ratio": round(halving_time / grid_time, 3),
        "per_model_time_ratios": {
            m: round(r["halving"]["tuning_s"] / r["grid"]["tuning_s"], 3) for m, r in runs.items()
        },
        "median_model_time_ratio": round(
            statistics.median(r["halving"]["tuning_s"] / r["grid"]["tuning_s"] for r in runs.values()), 3
        ),
        "best_metric_change": round(best["halving"][metric] / best["grid"][metric] - 1, 4),
    }


def markdown(results):
    metric = results["metric"]
    lines = [
        f"{results['rows']:,} rows ({results['train_shape'][0]:,} x {results['train_shape'][1]} training features), "
        f"{results['cv']}-fold CV, halving factor {results['halving_factor']}, {results['threads']} threads per "
        f"search, median of {results['repetitions']} paired run(s) per model, load average {results['load_average']['before']} / "
        f"{results['load_average']['after']}",
        "",
        f"| search spaces | model | candidates | grid tuning | halving tuning | ratio | grid test {metric} | "
        f"halving test {metric} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for space_name, summary in results["spaces"].items():
        for name, run in summary["models"].items():
            grid, halving = run["grid"], run["halving"]
            lines.append(
                f"| {space_name} | {name} | {grid['candidates']} | {grid['tuning_s']:.1f} s | "
                f"{halving['tuning_s']:.1f} s | {halving['tuning_s'] / grid['tuning_s']:.2f}x | "
                f"{grid['test'][metric]:.4f} | {halving['test'][metric]:.4f} |"
            )
        best = summary["best"]
        lines.append(
            f"| {space_name} | **all models** (best: {best['grid']['model']} / {best['halving']['model']}) | | "
            f"{summary['tuning_s']['grid']:.1f} s | {summary['tuning_s']['halving']:.1f} s | "
            f"**{summary['time_ratio']:.2f}x** | {best['grid'][metric]:.4f} | {best['halving'][metric]:.4f} "
            f"({summary['best_metric_change']:+.2%}) |"
        )
    lines.append("")
    for space_name, summary in results["spaces"].items():
        met = summary["time_ratio"] <= TARGET_TIME_RATIO and summary["best_metric_change"] >= -TARGET_METRIC_LOSS
        lines.append(
            f"{space_name}: {summary['time_ratio']:.2f}x grid search's tuning time, best test {metric} "
            f"{summary['best_metric_change']:+.2%} (target <= {TARGET_TIME_RATIO}x within "
            f"{TARGET_METRIC_LOSS:.0%}): {'met' if met else 'NOT met'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
