"""What tuning the decision threshold costs train_model (issue 32): each default family trained on a 10,000-row
binary table with a 5 % positive class, without a threshold and with one chosen by 5-fold cross-validation
(estimators.tune_threshold), medians of a few runs, on the job's 2 threads.

    PYTHONPATH=scripts python bench/threshold_cost.py [--rows 10000] [--repeats 3]
"""

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd

from snaketrain.stages.train_model import train


def table(rows, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 20)), columns=[f"x{i}" for i in range(20)])
    risk = X["x0"] - X["x1"] + 0.5 * X["x2"] * X["x3"] + rng.normal(size=rows)
    return X, pd.Series(np.where(risk > np.quantile(risk, 0.95), "bad", "good"))


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    X, y = table(args.rows)
    results = {}
    threshold = {"positive": "bad", "folds": 5}
    for family in ("linear", "random_forest", "hist_gradient_boosting"):
        spec = {"estimator": family, "search_space": {}}
        plain, _ = timed(lambda spec=spec: train("m", spec, {}, "binary", 0, X, y, args.threads), args.repeats)
        tuned, model = timed(
            lambda spec=spec: train("m", spec, {}, "binary", 0, X, y, args.threads, threshold=threshold), args.repeats
        )
        results[family] = {
            "without_threshold_s": round(plain, 2),
            "with_threshold_s": round(tuned, 2),
            "ratio": round(tuned / plain, 2),
            "threshold": round(float(model.threshold), 4),
        }
        print(family, results[family], flush=True)
    print(json.dumps({"rows": args.rows, "threads": args.threads, "results": results}, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
