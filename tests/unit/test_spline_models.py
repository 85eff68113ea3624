"""spline_linear: logistic regression and ridge on B-splines of the numbers, a curve per number."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score

from snaketrain.estimators import build_estimator
from snaketrain.registry.inference import pipeline_bytes, read_pipeline, save_pipeline, trusted_types
from snaketrain.spline_models import SplineLogisticRegression, SplineRidge
from snaketrain.stage_log import StageError


def risk_by_age(n=3000, seed=0):
    """Default risk high for the young and the old, low in between (one slope cannot say that), a 0/1 flag and a
    three-level code beside it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"age": rng.uniform(18, 80, n), "owner": rng.integers(0, 2, n).astype(float), "level": rng.integers(0, 3, n)}
    ).astype(float)
    logit = 0.004 * (X["age"] - 48) ** 2 - 2 + 0.8 * X["owner"]
    y = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "bad", "good")
    return X, y


def test_a_u_shaped_risk_is_found_where_one_slope_sees_nothing():
    X, y = risk_by_age()
    train, test = slice(0, 2000), slice(2000, None)
    curved = SplineLogisticRegression().fit(X[train], y[train])
    sloped = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    score = {m: roc_auc_score(y[test] == "bad", m.predict_proba(X[test])[:, 0]) for m in (curved, sloped)}
    assert list(curved.classes_) == ["bad", "good"]
    assert score[curved] > 0.7 and score[curved] > score[sloped] + 0.1
    # only age has enough distinct values for a curve: the flag and the code keep their slope
    assert curved.basis_.transformers_[0][2] == [0]


def test_ridge_on_splines_follows_a_curve_and_answers_outside_the_training_range():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 1000)
    X, y = x.reshape(-1, 1), np.sin(x) * 5 + rng.normal(0, 0.3, 1000)
    curved, straight = SplineRidge(alpha=0.1).fit(X, y), Ridge().fit(X, y)
    assert np.sqrt(np.mean((curved.predict(X) - y) ** 2)) < 1.0 < np.sqrt(np.mean((straight.predict(X) - y) ** 2))
    # beyond the training range each curve keeps its value at the edge: finite, no wild extrapolation
    far = curved.predict(np.array([[-100.0], [100.0]]))
    assert np.isfinite(far).all() and np.abs(far).max() < 10


def test_the_family_resolves_per_task_with_its_search_space_and_seed():
    classifier = build_estimator("m", {"estimator": "spline_linear"}, "binary", seed=7, threads=2)
    regressor = build_estimator("m", {"estimator": "spline_linear"}, "regression", seed=7, threads=2)
    assert isinstance(classifier, SplineLogisticRegression) and classifier.random_state == 7
    assert isinstance(regressor, SplineRidge) and regressor.get_params()["min_values"] == 20


def test_the_registry_stores_it_byte_for_byte_and_loads_it_only_with_its_familys_trust(tmp_path):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = risk_by_age(n=600)

    def fitted():
        return Pipeline([("preprocess", StandardScaler()), ("model", SplineLogisticRegression())]).fit(X, y)

    pipeline, trusted = fitted(), trusted_types("spline_linear")
    assert pipeline_bytes(pipeline, trusted) == pipeline_bytes(fitted(), trusted)  # the same fit, the same bytes
    save_pipeline(pipeline, tmp_path / "pipeline.skops", trusted)
    loaded = read_pipeline(tmp_path / "pipeline.skops", trusted=trusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    with pytest.raises(StageError, match="SplineLogisticRegression"):
        read_pipeline(tmp_path / "pipeline.skops", trusted=trusted_types("linear"))
