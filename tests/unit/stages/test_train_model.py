"""The train_model stage: tuned parameters, trained on the features, scored by evaluate_model."""

import numpy as np
import pandas as pd

from snaketrain.stages.evaluate_model import evaluate
from snaketrain.stages.train_model import train
from snaketrain.stages.tune_model import tune

TUNING = {"method": "grid", "n_iter": 3, "cv": 3, "scoring": "auto", "seed": 0}


def features_and_target(n=150):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = pd.Series((X["a"] + 0.3 * rng.normal(size=n) > 0).astype(int))
    return X, y


def test_tune_train_evaluate_on_separable_data():
    X, y = features_and_target()
    spec = {"estimator": "logistic_regression", "params": {"max_iter": 200}, "search_space": {"C": [0.01, 1.0]}}
    best, score, scoring, table = tune("lr", spec, TUNING, "binary", X, y)
    assert best in ({"C": 0.01}, {"C": 1.0}) and scoring == "f1 (positive class 1)" and 0.8 < score <= 1
    assert len(table) == 2 and "mean_fit_time" not in table.columns
    model = train("lr", spec, best, "binary", 0, X, y)
    metrics = evaluate(model, X, y, "binary")
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert metrics["accuracy"] > 0.85
