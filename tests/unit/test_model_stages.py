"""Unit tests of features, estimators, tuning, training, evaluation and comparison."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.build_features import fit_transform
from snaketrain.compare_models import rank, table_csv
from snaketrain.estimators import build_estimator, check_spec, class_path, search_space
from snaketrain.evaluate_model import evaluate
from snaketrain.model_metrics import is_better_or_equal, selection_metric
from snaketrain.preprocessing import transform
from snaketrain.stage_log import StageError
from snaketrain.train_model import train
from snaketrain.tune_model import tune

SETTINGS = {"drop": ["id"], "numeric_imputer": "median", "scale": True, "max_categories": 3}
TUNING = {"method": "grid", "n_iter": 3, "cv": 3, "scoring": "auto", "seed": 0}


def mixed_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "x": x,
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue", "cyan", "pink"], size=n),
            "y": np.where(x > 0, "pos", "neg"),
        }
    )
    df.loc[::7, "x"] = np.nan
    df.loc[::5, "colour"] = None
    return df


def test_features_are_fitted_on_train_only():
    df = mixed_frame()
    train_df, test_df = df.iloc[:80].reset_index(drop=True), df.iloc[80:].reset_index(drop=True)
    test_df["x"] = test_df["x"] + 1000  # a shift in test must not leak into the scaler
    pre, train_x, test_x, schema = fit_transform(train_df, test_df, "y", SETTINGS)
    assert abs(train_x["x"].mean()) < 1e-9
    assert test_x["x"].mean() > 100
    assert "id" not in schema["columns"] and schema["columns"]["colour"] == "categorical"
    assert not train_x.drop(columns="y").isna().any().any()


def test_one_hot_columns_are_capped():
    df = mixed_frame()
    _, train_x, _, schema = fit_transform(df, df, "y", SETTINGS)
    colour_columns = [c for c in schema["features_out"] if c.startswith("colour")]
    assert len(colour_columns) == 3


def test_unseen_category_is_accepted_at_predict_time():
    df = mixed_frame()
    pre, _, _, schema = fit_transform(df, df, "y", SETTINGS)
    new = df.head(3).copy()
    new["colour"] = "ultraviolet"
    assert len(transform(pre, new, schema)) == 3


def test_drop_of_unknown_column_is_a_clear_error():
    df = mixed_frame()
    with pytest.raises(StageError, match="features.drop names columns that do not exist: nope"):
        fit_transform(df, df, "y", {**SETTINGS, "drop": ["nope"]})


def test_short_names_resolve_per_task():
    spec = {"estimator": "random_forest"}
    assert class_path("rf", spec, "binary").endswith("RandomForestClassifier")
    assert class_path("rf", spec, "regression").endswith("RandomForestRegressor")


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"estimator": "forest_of_dreams"}, "unknown estimator 'forest_of_dreams'"),
        ({"estimator": "notapackage.Model"}, "needs the package 'notapackage', which is not installed"),
        ({"estimator": "sklearn.linear_model.NoSuchModel"}, "does not exist"),
        ({"estimator": "random_forest", "params": {"n_trees": 3}}, "has no parameter 'n_trees'"),
        ({"estimator": "random_forest", "search_space": {"depth": [1]}}, "has no parameter 'depth'"),
    ],
)
def test_bad_estimator_specs_are_config_errors(spec, message):
    with pytest.raises(StageError, match=message):
        check_spec("m", spec, "binary")


def test_logistic_regression_has_no_regression_form():
    with pytest.raises(StageError, match="no regression form"):
        class_path("lr", {"estimator": "logistic_regression"}, "regression")


def test_estimator_gets_seed_and_threads():
    model = build_estimator(
        "rf", {"estimator": "random_forest", "params": {"n_estimators": 5}}, "binary", seed=7, threads=2
    )
    assert model.random_state == 7 and model.n_jobs == 2 and model.n_estimators == 5


def test_random_search_takes_distributions_and_grid_refuses_them():
    spec = {
        "estimator": "logistic_regression",
        "search_space": {"C": {"distribution": "loguniform", "low": 0.01, "high": 10}},
    }
    assert hasattr(search_space(spec, "random")["C"], "rvs")
    with pytest.raises(StageError, match="grid search cannot enumerate"):
        search_space(spec, "grid")


def features_and_target(n=150):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = pd.Series((X["a"] + 0.3 * rng.normal(size=n) > 0).astype(int))
    return X, y


def test_tune_train_evaluate_on_separable_data():
    X, y = features_and_target()
    spec = {"estimator": "logistic_regression", "params": {"max_iter": 200}, "search_space": {"C": [0.01, 1.0]}}
    best, score, scoring, table = tune("lr", spec, TUNING, "binary", X, y)
    assert best in ({"C": 0.01}, {"C": 1.0}) and scoring == "f1_macro" and 0.8 < score <= 1
    assert len(table) == 2 and "mean_fit_time" not in table.columns
    model = train("lr", spec, best, "binary", 0, X, y)
    metrics = evaluate(model, X, y, "binary")
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert metrics["accuracy"] > 0.85


def test_regression_metrics():
    X, _ = features_and_target()
    y = 3 * X["a"] + 0.1
    model = train("ridge", {"estimator": "ridge"}, {}, "regression", 0, X, y)
    metrics = evaluate(model, X, y, "regression")
    assert set(metrics) == {"rmse", "mae", "r2"} and metrics["r2"] > 0.99


def test_rank_picks_best_with_direction_and_stable_ties():
    evaluations = [
        {"model": "b", "metrics": {"f1": 0.9, "rmse": 2.0}},
        {"model": "a", "metrics": {"f1": 0.9, "rmse": 3.0}},
        {"model": "c", "metrics": {"f1": 0.8, "rmse": 1.0}},
    ]
    assert [e["model"] for e in rank(evaluations, "f1")] == ["a", "b", "c"]
    assert [e["model"] for e in rank(evaluations, "rmse")] == ["c", "b", "a"]
    assert table_csv(rank(evaluations, "f1")).splitlines()[0] == "rank,model,f1,rmse"


def test_selection_metric_and_tolerance():
    assert selection_metric("auto", "regression") == "rmse"
    assert selection_metric("auto", "multiclass") == "f1"
    assert is_better_or_equal(0.895, 0.9, "f1", tolerance=0.01)
    assert not is_better_or_equal(0.85, 0.9, "f1", tolerance=0.01)
    assert is_better_or_equal(10.05, 10.0, "rmse", tolerance=0.1)
