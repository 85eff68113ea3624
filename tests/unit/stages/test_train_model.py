"""The train_model stage: tuned parameters, trained on the features, scored by evaluate_model."""

import numpy as np
import pandas as pd
import pytest

from snaketrain import estimators
from snaketrain.model_metrics import positive_class
from snaketrain.registry.inference import make_pipeline, pipeline_bytes, trusted_types
from snaketrain.stage_log import StageError
from snaketrain.stages.evaluate_model import evaluate, judged_by
from snaketrain.stages.train_model import threshold_settings, train
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
    # hyperparameters are ranked on a threshold-free score of the positive class (the threshold is tuned later)
    expected = f"average_precision (positive class {positive_class(y)})"
    assert best in ({"C": 0.01}, {"C": 1.0}) and scoring == expected and 0.8 < score <= 1
    assert len(table) == 2 and "mean_fit_time" not in table.columns
    model = train("lr", spec, best, "binary", 0, X, y)
    metrics = evaluate(model, X, y, "binary")
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert metrics["accuracy"] > 0.85


def rare_class(n=2000, share=0.05, seed=7):
    """A table whose positive class ('bad') is rare and depends on two features, with label noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    risk = X["a"] + 0.5 * X["b"] + 0.8 * rng.normal(size=n)
    y = pd.Series(np.where(risk > np.quantile(risk, 1 - share), "bad", "good"))
    return X, y


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "ridge", "svm"])
def test_the_threshold_is_tuned_for_the_rare_class_and_lives_inside_the_model(family):
    """A rare class: the model with a tuned threshold answers it (the constant 'good' rule would not), predict
    applies the threshold, and the Pipeline holding it is saved with the trusted types only (also without
    probabilities: ridge and SVC are thresholded on their decision values)."""
    X, y = rare_class()
    threshold = threshold_settings("binary", y, None, 3)
    assert threshold == {"positive": "bad", "folds": 3, "holdout_above": None}
    spec = {"estimator": family, "search_space": {}}
    model = train("m", spec, {}, "binary", 0, X, y, threshold=threshold)
    rule = estimators.threshold_rule(model)
    assert rule["positive_class"] == "bad"
    assert rule["response"] == ("decision_function" if family in ("ridge", "svm") else "predict_proba")
    labels = model.predict(X)
    assert 0 < (labels == "bad").sum() < len(X) / 2
    inner = estimators.inner_estimator(model)
    scores = inner.predict_proba(X)[:, 0] if rule["response"] == "predict_proba" else -inner.decision_function(X)
    assert list(labels) == list(np.where(scores >= model.threshold, "bad", "good"))
    metrics = evaluate(model, X, y, "binary")
    assert metrics["f1"] > 0.3  # F1 of 'bad' (judged_by says which class)
    assert judged_by(model, "binary")["positive_class"] == "bad"
    assert pipeline_bytes(make_pipeline(_identity(X), model), trusted_types(family))  # no type beyond the trusted


def _identity(X):
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer().fit(X)


def test_the_same_data_gives_the_same_threshold():
    X, y = rare_class(n=600, share=0.1)
    spec = {"estimator": "logistic_regression", "search_space": {}}
    first = train("m", spec, {}, "binary", 0, X, y, threshold={"positive": "bad", "folds": 3})
    second = train("m", spec, {}, "binary", 0, X, y, threshold={"positive": "bad", "folds": 3})
    assert first.threshold == second.threshold


def test_a_configured_positive_class_that_is_not_a_label_is_refused():
    X, y = rare_class(n=200)
    assert threshold_settings("binary", y, "good", 5)["positive"] == "good"
    assert threshold_settings("multiclass", y, None, 5) is None
    with pytest.raises(StageError, match="'churned'.*not a class"):
        threshold_settings("binary", y, "churned", 5)
