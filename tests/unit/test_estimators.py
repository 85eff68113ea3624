"""The estimator catalogue: families per task, checked params, seeds and threads, and the boosted-tree families."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from snaketrain import estimators
from snaketrain.estimators import (
    BOOST_INSTALL,
    FAMILIES,
    build_estimator,
    check_spec,
    class_path,
    fit_with_early_stopping,
    resolve,
    search_space,
    without_threads,
)
from snaketrain.stage_log import StageError

BOOSTED = ["xgboost", "lightgbm", "catboost"]
ROOT = Path(__file__).resolve().parents[2]


def boost(family):
    """Skip when the boosted family's library is not installed (make setup-boost; make test installs it)."""
    pytest.importorskip(family, reason=f"{family} comes with make setup-boost")


def test_short_names_resolve_per_task():
    spec = {"estimator": "random_forest"}
    assert class_path("rf", spec, "binary").endswith("RandomForestClassifier")
    assert class_path("rf", spec, "regression").endswith("RandomForestRegressor")


def test_the_linear_family_is_logistic_regression_or_ridge_with_its_own_search_space():
    classifier, regressor = (
        resolve("m", {"estimator": "linear"}, "binary"),
        resolve("m", {"estimator": "linear"}, "regression"),
    )
    assert classifier["estimator"] == "sklearn.linear_model.LogisticRegression" and "C" in classifier["search_space"]
    assert regressor["estimator"] == "sklearn.linear_model.Ridge" and "alpha" in regressor["search_space"]


def test_every_family_of_the_default_models_has_both_forms():
    defaults = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]
    assert defaults == ["spline_linear", "lightgbm"]
    for name in defaults:
        assert FAMILIES[name].classifier and FAMILIES[name].regressor and FAMILIES[name].install is not BOOST_INSTALL


def test_config_params_merge_over_the_familys_and_a_search_space_replaces_it():
    resolved = resolve(
        "rf",
        {"estimator": "random_forest", "params": {"max_features": 0.5}, "search_space": {"max_depth": [3]}},
        "binary",
    )
    assert resolved["params"] == {"n_estimators": 200, "max_features": 0.5}
    assert resolved["search_space"] == {"max_depth": [3]}
    assert resolve("rf", resolved, "binary") == resolved  # resolving twice changes nothing
    assert resolve("rf", {"estimator": "random_forest", "search_space": {}}, "binary")["search_space"] == {}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"estimator": "forest_of_dreams"}, "unknown estimator 'forest_of_dreams'"),
        ({"estimator": "randomforest"}, r"did you mean random_forest\?"),
        ({"estimator": "notapackage.Model"}, "needs the package 'notapackage', which is not installed"),
        ({"estimator": "sklearn.linear_model.NoSuchModel"}, "does not exist"),
        ({"estimator": "random_forest", "params": {"n_trees": 3}}, "has no parameter 'n_trees'"),
        ({"estimator": "random_forest", "search_space": {"depth": [1]}}, "has no parameter 'depth'"),
        ({"estimator": "random_forest", "params": {"max_dept": 3}}, "closest valid names for 'max_dept': max_depth"),
        ({"estimator": "json.JSONDecoder"}, "neither a scikit-learn estimator nor a family of the catalogue"),
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


def test_estimator_by_dotted_class_path():
    model = build_estimator(
        "sgd", {"estimator": "sklearn.linear_model.SGDClassifier", "params": {"alpha": 0.01}}, "binary", seed=3
    )
    assert type(model).__name__ == "SGDClassifier" and model.random_state == 3 and model.alpha == 0.01


def test_a_family_that_is_not_installed_names_the_command_that_installs_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        estimators.importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a)
    )
    with pytest.raises(StageError, match=r"(?s)needs the package 'xgboost'.*install it with make setup-boost"):
        check_spec("m", {"estimator": "xgboost"}, "binary")


# ---- the boosted-tree families


@pytest.mark.parametrize("family", BOOSTED)
@pytest.mark.parametrize("task, kind", [("binary", "Classifier"), ("regression", "Regressor")])
def test_boosted_families_resolve_per_task_with_seed_threads_and_no_noise(family, task, kind):
    boost(family)
    model = build_estimator("m", {"estimator": family}, task, seed=11, threads=2)
    assert type(model).__name__.endswith(kind)
    params = model.get_params()
    threads = FAMILIES[family].threads
    assert params[threads] == 2 and params["random_state"] == 11
    assert params.get("verbose", params.get("verbosity")) in (0, -1)
    if family == "catboost":
        assert params["allow_writing_files"] is False  # no catboost_info/ in the project


@pytest.mark.parametrize(
    "family, documented",
    [
        ("xgboost", {"n_estimators": 50, "max_depth": 3, "subsample": 0.8}),
        ("lightgbm", {"verbose": -1, "min_data_in_leaf": 5, "feature_fraction": 0.8}),
        ("catboost", {"l2_leaf_reg": 3}),
    ],
)
def test_every_documented_parameter_passes_and_a_typo_gets_the_closest_names(family, documented):
    boost(family)
    check_spec("m", {"estimator": family, "params": documented}, "binary")
    with pytest.raises(StageError, match="closest valid names for 'learning_rat': learning_rate"):
        check_spec("m", {"estimator": family, "params": {"learning_rat": 0.1}}, "binary")


def table(task, n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    signal = X["f0"] + 0.5 * X["f1"] ** 2 + rng.normal(scale=0.3, size=n)
    y = signal if task == "regression" else (signal > signal.median()).astype(int)
    return X, pd.Series(y, name="y")


@pytest.mark.parametrize("family", BOOSTED)
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_fitted_boosted_model_has_the_same_bytes_whatever_the_threads(family, task):
    boost(family)
    from snaketrain.registry.inference import pipeline_bytes, trusted_types

    X, y = table(task)
    saved = []
    for threads in (1, 2, 2):
        model = build_estimator("m", {"estimator": family, "params": {FAMILIES[family].rounds: 30}}, task, 0, threads)
        saved.append(pipeline_bytes(without_threads(model.fit(X, y)), trusted_types(family)))
    assert saved[0] == saved[1] == saved[2]


def test_lightgbm_with_linear_leaves_has_the_same_bytes_whatever_the_threads():
    # its linear leaves are summed thread by thread, so it is fitted on one thread whatever the job has
    from snaketrain.registry.inference import pipeline_bytes, trusted_types

    X, y = table("regression", n=3000)
    saved = []
    for threads in (1, 2):
        spec = {"estimator": "lightgbm", "params": {"n_estimators": 30, "linear_tree": True}}
        model = build_estimator("m", spec, "regression", 0, threads)
        saved.append(pipeline_bytes(without_threads(model.fit(X, y)), trusted_types("lightgbm")))
    assert saved[0] == saved[1]


@pytest.mark.parametrize("family", BOOSTED)
def test_early_stopping_keeps_fewer_rounds_than_the_budget_on_held_out_rows(family):
    boost(family)
    X, y = table("binary", n=600)
    model = build_estimator(
        "m", {"estimator": family, "params": {FAMILIES[family].rounds: 2000, "learning_rate": 0.3}}, "binary", 0, 1
    )
    kept = fit_with_early_stopping(model, X[:500], y[:500], X[500:], y[500:], rounds=10)
    assert 1 <= kept < 2000


@pytest.mark.parametrize("family", BOOSTED)
def test_a_boosted_model_is_trusted_for_its_own_family_only(family, tmp_path):
    boost(family)
    from snaketrain.registry.inference import TRUSTED_TYPES, pipeline_bytes, read_pipeline, trusted_types

    X, y = table("binary")
    model = without_threads(
        build_estimator("m", {"estimator": family, "params": {FAMILIES[family].rounds: 10}}, "binary", 0).fit(X, y)
    )
    path = tmp_path / "pipeline.skops"
    path.write_bytes(pipeline_bytes(model, trusted_types(family)))
    assert (read_pipeline(path, trusted=trusted_types(family)).predict(X) == model.predict(X)).all()
    with pytest.raises(StageError, match="holds types that are not trusted"):
        read_pipeline(path, trusted=TRUSTED_TYPES)  # a random forest's version holding this file is refused
    with pytest.raises(StageError, match="holds types that snaketrain does not load"):
        pipeline_bytes(model)
    other = next(f for f in BOOSTED if f != family)
    with pytest.raises(StageError, match="holds types that are not trusted"):
        read_pipeline(path, trusted=trusted_types(other))
