"""The boosted families on the fast path: XGBoost and LightGBM pipelines convert through onnxmltools and answer as
scikit-learn does (labels as users wrote them, probabilities, regression within 1e-6 relative); CatBoost and
spline_linear stay on scikit-learn."""

import numpy as np
import pytest

from snaketrain.estimators import build_estimator, without_threads
from snaketrain.registry.inference import LoadedModel, make_pipeline
from snaketrain.serving import fast_path
from snaketrain.stages.build_features import fit_transform
from tests.tables import mixed_frame

pytest.importorskip("onnxmltools", reason="the fast path's converters come with make setup-serve")
SETTINGS = {"drop": ["id"], "numeric_imputer": "median", "scale": True, "max_categories": 20}


BOOSTED_ROUNDS = {"xgboost": "n_estimators", "lightgbm": "n_estimators", "catboost": "iterations"}


def served(family, task, params=None):
    rounds = {}
    if family in BOOSTED_ROUNDS:
        pytest.importorskip(family, reason=f"{family} comes with make setup-boost")
        rounds = {BOOSTED_ROUNDS[family]: 40}
    table = mixed_frame(n=600, seed=1)
    if task == "regression":
        table["y"] = table["x"].fillna(0) * 3 + table["noise"]
    elif task == "multiclass":
        table["y"] = np.select([table["noise"] < -0.5, table["noise"] > 0.5], ["low", "high"], "mid")
    preprocessor, features, _, schema = fit_transform(table, table, "y", SETTINGS)
    model = build_estimator("m", {"estimator": family, "params": {**rounds, **(params or {})}}, task, 0).fit(
        features.drop(columns="y"), features["y"]
    )
    input_schema = {key: schema[key] for key in ("target", "columns", "dtypes")}
    loaded = LoadedModel(
        "v1", {"task": task, "input_schema": input_schema}, make_pipeline(preprocessor, without_threads(model))
    )
    rows = table.drop(columns=["y", "id"])
    return fast_path.build(loaded, check_rows=rows.head(200)), loaded, rows


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_boosted_classifiers_are_served_by_onnx_runtime_with_scikit_learns_answers(family, task):
    predictor, loaded, rows = served(family, task)
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    labels, probabilities = predictor.predict_frame(rows.tail(100), probabilities=True)
    assert list(labels) == list(loaded.pipeline.predict(rows.tail(100)))  # "low"/"mid"/"high", as written
    np.testing.assert_allclose(probabilities, loaded.pipeline.predict_proba(rows.tail(100)), atol=1e-5)


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_boosted_regressors_are_served_by_onnx_runtime_within_the_checks_tolerance(family):
    # XGBoost sums in float32 from its base score (the graph folds the base into the first tree, so ONNX Runtime
    # adds the same floats in the same order); LightGBM sums in double (the graph is written in double)
    predictor, loaded, rows = served(family, "regression")
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    labels, _ = predictor.predict_frame(rows)
    np.testing.assert_allclose(labels, loaded.pipeline.predict(rows), rtol=1e-6 if family == "lightgbm" else 0)


def test_catboost_is_served_by_scikit_learn_saying_why():
    predictor, _, _ = served("catboost", "binary")
    assert predictor.engine == "scikit-learn" and "CatBoost" in predictor.fallback_reason


def test_the_spline_linear_model_is_served_by_scikit_learn_saying_why():
    predictor, loaded, rows = served("spline_linear", "binary")
    assert predictor.engine == "scikit-learn" and "SplineLogisticRegression" in predictor.fallback_reason
    labels, _ = predictor.predict_frame(rows.tail(50))
    assert list(labels) == list(loaded.pipeline.predict(rows.tail(50)))


def test_lightgbm_with_linear_leaves_is_served_by_scikit_learn_saying_why():
    # the converter would write each leaf's constant only: refused before any row is compared
    predictor, loaded, rows = served("lightgbm", "regression", {"linear_tree": True})
    assert predictor.engine == "scikit-learn" and "linear_tree=True" in predictor.fallback_reason
    labels, _ = predictor.predict_frame(rows.head(50))
    np.testing.assert_array_equal(labels, loaded.pipeline.predict(rows.head(50)))


@pytest.mark.parametrize("family", ["random_forest", "linear"])
def test_a_target_encoded_code_column_is_served_by_onnx_runtime_missing_and_unseen_values_too(family):
    from tests.tables import customer_table

    table = customer_table(n=1500).drop(columns=["signup", "comment"])
    table.loc[::17, "zip"] = None
    preprocessor, features, _, schema = fit_transform(table, table, "churned", {**SETTINGS, "drop": []})
    assert schema["kinds"]["zip"]["kind"] == "many_valued"
    model = build_estimator("m", {"estimator": family}, "binary", 0).fit(
        features.drop(columns="churned"), features["churned"]
    )
    input_schema = {key: schema[key] for key in ("target", "columns", "dtypes")}
    loaded = LoadedModel(
        "v1", {"task": "binary", "input_schema": input_schema}, make_pipeline(preprocessor, without_threads(model))
    )
    rows = table[list(preprocessor.feature_names_in_)]  # the identifier is left out of the model's inputs
    predictor = fast_path.build(loaded, check_rows=rows.head(300))
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    new = rows.tail(200).copy()
    new.iloc[0, new.columns.get_loc("zip")] = "99999"  # a code never seen in training
    labels, probabilities = predictor.predict_frame(new, probabilities=True)
    assert list(labels) == list(loaded.pipeline.predict(new))
    np.testing.assert_allclose(probabilities, loaded.pipeline.predict_proba(new), atol=1e-5)
