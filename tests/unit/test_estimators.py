"""The estimator catalogue: short names per task, dotted class paths, checked params and search spaces."""

import pytest

from snaketrain.estimators import build_estimator, check_spec, class_path, search_space
from snaketrain.stage_log import StageError


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


def test_estimator_by_dotted_class_path():
    model = build_estimator(
        "sgd", {"estimator": "sklearn.linear_model.SGDClassifier", "params": {"alpha": 0.01}}, "binary", seed=3
    )
    assert type(model).__name__ == "SGDClassifier" and model.random_state == 3 and model.alpha == 0.01
