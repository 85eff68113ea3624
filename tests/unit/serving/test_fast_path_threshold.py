"""The fast path applies a model's tuned decision threshold (snaketrain.estimators (the decision threshold)), not the argmax."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier

from snaketrain import estimators
from snaketrain.preprocessing import make_preprocessor
from snaketrain.registry import inference
from snaketrain.serving import fast_path
from snaketrain.serving.feeds import records_feeds
from tests.unit.serving.test_fast_path import mixed, records

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")


def thresholded(model, n=2000):
    """A LoadedModel whose estimator carries a threshold tuned for the rarer class, and its raw rows."""
    df = mixed(n=n)
    df["y"] = np.where(df["y"] == 1, "churn", "stay")
    positive = df["y"].value_counts().idxmin()
    features = df.drop(columns=["y"])
    preprocessor = make_preprocessor(["age", "income"], ["city", "plan"], "median", True, 20)
    X = preprocessor.fit_transform(features)
    fitted = estimators.tune_threshold(model, X, df["y"], positive, 3, 0)
    columns = {"age": "numeric", "income": "numeric", "city": "categorical", "plan": "categorical"}
    metadata = {"task": "binary", "input_schema": {"target": "y", "columns": columns, "dtypes": {}}}
    return inference.LoadedModel("v1", metadata, inference.make_pipeline(preprocessor, fitted)), features


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(max_iter=1000),
        RandomForestClassifier(n_estimators=30, random_state=0),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    ],
)
def test_the_fast_path_gives_the_thresholded_labels(model):
    loaded, rows = thresholded(model)
    predictor = fast_path.build(loaded, check_rows=rows)
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    labels, probabilities = predictor.predict_feeds(records_feeds(predictor.plan, records(rows)), True)
    expected = inference.predict(loaded, rows)
    assert labels.tolist() == expected.labels.tolist()
    # the threshold is not 0.5: the argmax would answer otherwise on some rows
    argmax = np.asarray(loaded.model.classes_)[np.argmax(expected.probabilities, axis=1)]
    assert (argmax != expected.labels).any()


def test_a_threshold_on_decision_values_stays_on_scikit_learn_and_says_why():
    loaded, rows = thresholded(RidgeClassifier(), n=600)
    predictor = fast_path.build(loaded, check_rows=rows)
    assert predictor.engine == "scikit-learn"
    assert "decision threshold is on decision_function" in predictor.fallback_reason
