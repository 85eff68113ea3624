"""The service's fast prediction path gives scikit-learn's predictions, or steps aside for scikit-learn."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from snaketrain.preprocessing import make_preprocessor
from snaketrain.registry import inference
from snaketrain.serving import fast_path

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")


def fitted(df, target, model, task, categorical=()):
    """A LoadedModel as the registry would give it: preprocessor and model fitted on df."""
    features = df.drop(columns=[target])
    numeric = [c for c in features.columns if c not in categorical]
    preprocessor = make_preprocessor(numeric, list(categorical), "median", True, 20)
    X = preprocessor.fit_transform(features)
    model.fit(X, df[target])
    columns = {c: ("categorical" if c in categorical else "numeric") for c in features.columns}
    metadata = {"task": task, "input_schema": {"target": target, "columns": columns, "dtypes": {}}}
    return inference.LoadedModel("v1", metadata, inference.make_pipeline(preprocessor, model))


def dataset(loader):
    data = loader(as_frame=True)
    df = data.frame.rename(columns={"target": "label"})
    # a few missing values, imputed as in training
    df.iloc[::17, 2] = np.nan
    return df


def sklearn_answer(loaded, df):
    prediction = inference.predict(loaded, df)
    return prediction.labels, prediction.probabilities


@pytest.mark.parametrize(
    ("loader", "model"),
    [
        (load_breast_cancer, LogisticRegression(max_iter=1000)),
        (load_wine, LogisticRegression(max_iter=1000)),
        (load_breast_cancer, RandomForestClassifier(n_estimators=20, random_state=0)),
        (load_wine, HistGradientBoostingClassifier(max_iter=30, random_state=0)),
    ],
)
def test_the_fast_path_gives_scikit_learns_predictions(loader, model):
    df = dataset(loader)
    loaded = fitted(df, "label", model, "binary" if df["label"].nunique() == 2 else "multiclass")
    predictor = fast_path.build(loaded)
    rows = df.drop(columns=["label"])
    labels, probabilities = predictor.predict_matrix(rows[predictor.columns].to_numpy(np.float64))
    expected_labels, expected_probabilities = sklearn_answer(loaded, rows)
    assert labels.tolist() == expected_labels.tolist()
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=fast_path.PROBA_TOLERANCE)
    if isinstance(model, LogisticRegression):
        assert predictor.engine == "onnxruntime" and predictor.fallback_reason is None


class Majority(ClassifierMixin, BaseEstimator):
    """A classifier skl2onnx has no converter for."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def predict_proba(self, X):
        return np.tile((self.classes_ == self.majority_).astype(float), (len(X), 1))


def test_models_and_inputs_it_cannot_take_fall_back_to_scikit_learn_with_the_reason():
    df = dataset(load_breast_cancer)
    rows = df.drop(columns=["label"])

    unconvertible = fitted(df, "label", Majority(), "binary")
    predictor = fast_path.build(unconvertible)
    assert predictor.engine == "scikit-learn" and "does not convert to ONNX" in predictor.fallback_reason
    labels, _ = predictor.predict_matrix(rows[predictor.columns].to_numpy(np.float64))
    assert labels.tolist() == sklearn_answer(unconvertible, rows)[0].tolist()

    with_text = df.assign(city=np.where(df.index % 2, "north", "south"))
    categorical = fitted(with_text, "label", LogisticRegression(max_iter=1000), "binary", categorical=["city"])
    predictor = fast_path.build(categorical)
    assert predictor.engine == "scikit-learn" and "categorical" in predictor.fallback_reason
    checked, _ = inference.check_input(with_text.drop(columns=["label"]), categorical.input_schema)
    labels, _ = predictor.predict_frame(checked)
    assert labels.tolist() == sklearn_answer(categorical, checked)[0].tolist()

    regression = fitted(df.astype({"label": float}), "label", Ridge(), "regression")
    assert fast_path.build(regression).engine == "scikit-learn"
    assert fast_path.build(fitted(df, "label", LogisticRegression(max_iter=1000), "binary"), "sklearn").engine == (
        "scikit-learn"
    )


def test_a_conversion_that_disagrees_is_refused():
    labels = np.array([0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert fast_path.disagreement((labels, probabilities), (labels, probabilities + 1e-6), "binary") is None
    assert "labels differ" in fast_path.disagreement((labels, probabilities), (labels[::-1], probabilities), "binary")
    assert "probabilities differ" in fast_path.disagreement(
        (labels, probabilities), (labels, probabilities[:, ::-1]), "binary"
    )
