"""What storing models with skops instead of joblib costs: dump and load times and sizes (bench/README.md, joblib vs skops).

    python bench/skops_cost.py

Binary task, 20 synthetic features, 569 and 10,000 rows; median of 3 repetitions per figure.
"""

import statistics
import tempfile
import time
from pathlib import Path

import joblib
import pandas as pd
import skops.io
from sklearn.datasets import make_classification

from snaketrain.estimators import build_estimator
from snaketrain.registry import inference

MODELS = (
    ("logistic_regression", {}),
    ("random_forest", {"n_estimators": 200}),
    ("hist_gradient_boosting", {"max_iter": 200}),
)


def median_time(action, repetitions=3):
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    folder = Path(tempfile.mkdtemp())
    joblib_path, skops_path = folder / "m.joblib", folder / "m.skops"
    for rows in (569, 10_000):
        X, y = make_classification(n_samples=rows, n_features=20, random_state=0)
        X = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
        for name, params in MODELS:
            model = build_estimator(name, {"estimator": name, "params": params}, "binary", 0).fit(X, y)
            joblib_dump = median_time(lambda: joblib.dump(model, joblib_path, compress=3))  # noqa: B023
            joblib_load = median_time(lambda: joblib.load(joblib_path))
            skops_dump = median_time(lambda: inference.save_pipeline(model, skops_path))  # noqa: B023
            skops_load = median_time(lambda: skops.io.load(skops_path, trusted=list(inference.TRUSTED_TYPES)))
            print(
                f"{rows:6d} rows {name:24s} joblib dump {joblib_dump:.3f} s, load {joblib_load:.3f} s, "
                f"{joblib_path.stat().st_size / 1e6:.2f} MB | skops dump {skops_dump:.3f} s, load {skops_load:.3f} s, "
                f"{skops_path.stat().st_size / 1e6:.2f} MB"
            )


if __name__ == "__main__":
    main()
