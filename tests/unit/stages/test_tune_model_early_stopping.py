"""Early stopping inside the search: a boosted family's cross-validation fits stop on a seeded part of their own
training rows, and the search reports the family's own parameter names."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from snaketrain.estimators import build_estimator
from snaketrain.stages.tune_model import EarlyStopped, early_stopping_search, inner_params, tune

pytestmark = pytest.mark.skipif(importlib.util.find_spec("lightgbm") is None, reason="lightgbm is not installed")
TUNING = {"method": "grid", "n_iter": 10, "halving_factor": 3, "cv": 3, "scoring": "auto", "seed": 0}


def table(rows=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": rng.normal(size=rows)})
    y = pd.Series(np.where(X["a"] + 0.5 * rng.normal(size=rows) > 0, "yes", "no"))
    return X, y


def test_a_fit_stops_before_its_budget_and_is_the_same_each_time():
    X, y = table()
    estimator = build_estimator("lightgbm", {"estimator": "lightgbm"}, "binary", seed=0)
    first = EarlyStopped(estimator, rounds=10, seed=0).fit(X, y)
    assert first.best_rounds_ < estimator.get_params()["n_estimators"]
    assert list(first.classes_) == ["no", "yes"] and first.predict_proba(X).shape == (len(X), 2)
    second = EarlyStopped(estimator, rounds=10, seed=0).fit(X, y)
    assert first.best_rounds_ == second.best_rounds_
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))


def test_the_space_is_the_inner_estimators():
    estimator = build_estimator("lightgbm", {"estimator": "lightgbm"}, "regression", seed=0)
    wrapped, space = early_stopping_search(estimator, {"num_leaves": [7, 31]}, 20, 0, "regression")
    assert space == {"estimator__num_leaves": [7, 31]} and not wrapped.classification
    assert inner_params({"estimator__num_leaves": 7}) == {"num_leaves": 7}


def test_tune_reports_the_familys_parameter_names():
    X, y = table()
    best, score, _, results = tune("lightgbm", {"estimator": "lightgbm"}, TUNING, "binary", X, y)
    assert set(best) == {"num_leaves", "min_child_samples", "reg_lambda"} and 0 <= score <= 1
    assert "param_num_leaves" in results and not [c for c in results if "estimator__" in c]
    assert "estimator__" not in "".join(results["params"])
    # the same search twice: the same table (seeded folds and held-out parts)
    assert tune("lightgbm", {"estimator": "lightgbm"}, TUNING, "binary", X, y)[3].equals(results)


def test_halving_over_rounds_keeps_its_own_budget():
    X, y = table()
    halving = {**TUNING, "method": "halving"}
    best, _, _, results = tune("lightgbm", {"estimator": "lightgbm"}, halving, "binary", X, y)
    assert "n_resources" in results and set(best) == {"num_leaves", "min_child_samples", "reg_lambda"}
