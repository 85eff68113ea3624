"""The service's fast prediction path gives scikit-learn's predictions, or steps aside for scikit-learn."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeRegressor

from snaketrain.preprocessing import make_preprocessor
from snaketrain.registry import inference
from snaketrain.serving import agreement, converters, fast_path
from snaketrain.serving.feeds import records_feeds, rows_feeds

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")


def fitted(df, target, model, task, categorical=(), max_categories=20, missing_indicators=False):
    """A LoadedModel as the registry would give it: preprocessor and model fitted on df."""
    features = df.drop(columns=[target])
    numeric = [c for c in features.columns if c not in categorical]
    preprocessor = make_preprocessor(
        numeric, list(categorical), "median", True, max_categories, missing_indicators=missing_indicators
    )
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


def mixed(n=2000, seed=0, task="binary"):
    """A table as users bring it: numbers with gaps, text columns with rare categories and gaps."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(
                ["paris", "lyon", "nice", "lille", "metz", "brest"], n, p=[0.4, 0.3, 0.2, 0.06, 0.03, 0.01]
            ),
            "plan": rng.choice(["free", "pro", "team"], n),
        }
    )
    df.loc[rng.random(n) < 0.1, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "city"] = None
    signal = (df["age"].fillna(40) > 40).astype(int) + (df["city"] == "paris") + (df["plan"] == "pro")
    df["y"] = (
        signal + rng.normal(0, 0.5, n) if task == "regression" else (signal + rng.normal(0, 0.7, n) > 1).astype(int)
    )
    return df


def sklearn_answer(loaded, df):
    prediction = inference.predict(loaded, df)
    return prediction.labels, prediction.probabilities


def records(df):
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")
    ]


@pytest.mark.parametrize(
    ("loader", "model"),
    [
        (load_breast_cancer, LogisticRegression(max_iter=1000)),
        (load_wine, LogisticRegression(max_iter=1000)),
        (load_breast_cancer, RandomForestClassifier(n_estimators=20, random_state=0)),
        (load_wine, HistGradientBoostingClassifier(max_iter=30, random_state=0)),
    ],
)
def test_the_fast_path_gives_scikit_learns_predictions_on_numeric_tables(loader, model):
    df = dataset(loader)
    loaded = fitted(df, "label", model, "binary" if df["label"].nunique() == 2 else "multiclass")
    predictor = fast_path.build(loaded, check_rows=df)
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    rows = df.drop(columns=["label"])
    labels, probabilities = predictor.predict_feeds(records_feeds(predictor.plan, records(rows)), True)
    expected_labels, expected_probabilities = sklearn_answer(loaded, rows)
    assert labels.tolist() == expected_labels.tolist()
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=agreement.PROBA_TOLERANCE)


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(max_iter=1000),
        RandomForestClassifier(n_estimators=100, random_state=0),
        ExtraTreesClassifier(n_estimators=30, max_depth=6, random_state=0),
        GradientBoostingClassifier(n_estimators=30, random_state=0),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    ],
    ids=lambda model: type(model).__name__,
)
@pytest.mark.parametrize("indicators", [True, False], ids=["missing indicators", "no indicators"])
def test_mixed_tables_with_text_and_gaps_take_the_fast_path_with_scikit_learns_answers(model, indicators):
    df = mixed()
    train, test = df.iloc[:1500], df.iloc[1500:].drop(columns=["y"])
    loaded = fitted(
        train, "y", model, "binary", categorical=["city", "plan"], max_categories=4, missing_indicators=indicators
    )
    predictor = fast_path.build(loaded, check_rows=test)
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    # what JSON clients send: null and "" for missing values, categories never seen, rare ones (grouped)
    sent = records(test.head(200))
    sent[0]["city"], sent[1]["city"], sent[2]["city"], sent[3]["city"] = "", None, "atlantis", "brest"
    sent[4]["age"] = None
    feeds = records_feeds(predictor.plan, sent)
    labels, probabilities = predictor.predict_feeds(feeds, probabilities=True)
    expected_labels, expected_probabilities = sklearn_answer(loaded, pd.DataFrame(sent))
    assert labels.tolist() == expected_labels.tolist()
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=agreement.PROBA_TOLERANCE)
    # labels only: no probabilities computed
    assert predictor.predict_feeds(feeds)[1] is None


def test_values_the_fast_path_does_not_take_go_to_check_input():
    loaded = fitted(mixed(300), "y", LogisticRegression(), "binary", categorical=["city", "plan"])
    plan = fast_path.build(loaded).plan
    good = {"age": 30, "income": 1000.5, "city": "paris", "plan": "pro"}
    assert records_feeds(plan, [good]) is not None
    for bad in ({"age": "30"}, {"age": True}, {"city": 3}, {"plan": ["x"]}):
        assert records_feeds(plan, [{**good, **bad}]) is None, bad
    assert records_feeds(plan, [{k: v for k, v in good.items() if k != "city"}]) is None
    assert rows_feeds(plan, list(good), [list(good.values()), [1]]) is None


def test_regression_converts_in_float64_where_scikit_learn_does():
    df = mixed(1500, task="regression")
    for model in (Ridge(), LinearRegression()):
        loaded = fitted(df, "y", model, "regression", categorical=["city", "plan"])
        predictor = fast_path.build(loaded, check_rows=df.drop(columns=["y"]))
        assert predictor.engine == "onnxruntime", predictor.fallback_reason
        rows = df.drop(columns=["y"]).head(50)
        values, _ = predictor.predict_feeds(records_feeds(predictor.plan, records(rows)))
        np.testing.assert_allclose(values, sklearn_answer(loaded, rows)[0], rtol=agreement.REGRESSION_RTOL)


@pytest.mark.parametrize(
    "model",
    [
        RandomForestRegressor(30, random_state=0),
        ExtraTreesRegressor(20, random_state=0),
        GradientBoostingRegressor(n_estimators=50, random_state=0),
        HistGradientBoostingRegressor(max_iter=50, random_state=0),
        DecisionTreeRegressor(random_state=0),
    ],
    ids=lambda model: type(model).__name__,
)
def test_tree_regressors_are_served_in_double_within_the_regression_tolerance(model):
    # float thresholds, leaves and sums missed 1e-6 relative by 1e-5 to 1e-3: the graph is written in double
    df = mixed(1500, task="regression")
    loaded = fitted(df, "y", model, "regression", categorical=["city", "plan"])
    predictor = fast_path.build(loaded, check_rows=df.drop(columns=["y"]))
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    rows = pd.concat([df.drop(columns=["y"]), agreement.probe_rows(loaded, predictor.plan, seed=1)])
    values, _ = predictor.predict_frame(inference.check_input(rows, loaded.input_schema, stage="serve")[0])
    np.testing.assert_allclose(values, sklearn_answer(loaded, rows)[0], rtol=agreement.REGRESSION_RTOL, atol=0)


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


def test_models_it_cannot_convert_fall_back_to_scikit_learn_with_the_reason():
    df = dataset(load_breast_cancer)
    rows = df.drop(columns=["label"])
    unconvertible = fitted(df, "label", Majority(), "binary")
    predictor = fast_path.build(unconvertible)
    assert predictor.engine == "scikit-learn" and "no ONNX converter is registered" in predictor.fallback_reason
    checked, _ = inference.check_input(rows, unconvertible.input_schema)
    labels, probabilities = predictor.predict_frame(checked)
    assert labels.tolist() == sklearn_answer(unconvertible, rows)[0].tolist() and probabilities is None
    assert fast_path.build(fitted(df, "label", LogisticRegression(max_iter=1000), "binary"), "sklearn").engine == (
        "scikit-learn"
    )


class HouseLogistic(LogisticRegression):
    """An estimator class of another family: skl2onnx knows nothing of it until it is registered."""


def test_a_converter_registered_by_class_path_is_used(monkeypatch):
    """Another family plugs in through converters.CONVERTERS (class path -> registration), not the service."""
    df = dataset(load_breast_cancer)
    unknown = fast_path.build(fitted(df, "label", HouseLogistic(max_iter=1000), "binary"))
    assert unknown.engine == "scikit-learn" and "HouseLogistic" in unknown.fallback_reason
    seen = []

    def teach(cls):
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
        from skl2onnx.operator_converters.linear_classifier import convert_sklearn_linear_classifier

        seen.append(cls)
        options = {"zipmap": [False, True], "nocl": [False, True], "raw_scores": [False, True]}
        update_registered_converter(
            cls,
            "HouseLogistic",
            calculate_linear_classifier_output_shapes,
            convert_sklearn_linear_classifier,
            options=options,
        )

    monkeypatch.setitem(converters.CONVERTERS, converters.class_path(HouseLogistic()), teach)
    predictor = fast_path.build(fitted(df, "label", HouseLogistic(max_iter=1000), "binary"), check_rows=df)
    assert seen == [HouseLogistic] and predictor.engine == "onnxruntime", predictor.fallback_reason


def test_a_conversion_that_disagrees_is_refused():
    labels = np.array([0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert agreement.disagreement((labels, probabilities), (labels, probabilities + 1e-6), "binary") is None
    assert "labels differ" in agreement.disagreement((labels, probabilities), (labels[::-1], probabilities), "binary")
    assert "probabilities differ" in agreement.disagreement(
        (labels, probabilities), (labels, probabilities + 1e-4), "binary"
    )
    values = np.array([1.0, 2.0, 3.0])
    assert agreement.disagreement((values, None), (values * (1 + 1e-7), None), "regression") is None
    assert "values differ" in agreement.disagreement((values, None), (values * (1 + 1e-5), None), "regression")


def test_k_nearest_neighbours_converts_or_says_why():
    df = mixed(800)
    predictor = fast_path.build(fitted(df, "y", KNeighborsClassifier(), "binary", categorical=["city", "plan"]))
    assert predictor.engine == "onnxruntime" or predictor.fallback_reason
