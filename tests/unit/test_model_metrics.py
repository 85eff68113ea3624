"""snaketrain.model_metrics: the task table keeps tuning, selection and the gate on the same metric."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import get_scorer

from snaketrain.model_metrics import (
    TASKS,
    default_metric,
    higher_is_better,
    is_better_or_equal,
    positive_class,
    score_model,
    selection_metric,
    task_metrics,
    tuning_scorer,
)


def binary_data(labels):
    X, y = make_classification(n_samples=300, n_features=5, weights=[0.7], random_state=0)
    return pd.DataFrame(X), pd.Series(np.asarray(labels)[y])


def fitted(task, labels=(0, 1)):
    if task == "binary":
        X, y = binary_data(labels)
        return LogisticRegression().fit(X, y), X, y
    if task == "multiclass":
        data = load_iris(as_frame=True)
        return LogisticRegression(max_iter=500).fit(data.data, data.target), data.data, data.target
    data = load_diabetes(as_frame=True)
    return LinearRegression().fit(data.data, data.target), data.data, data.target


@pytest.mark.parametrize("labels", [(0, 1), ("no", "yes"), ("yes", "no")])
def test_binary_tuning_and_selection_score_the_positive_class(labels):
    """Binary: tuning ranks candidates on average precision of the positive class (the decision threshold is tuned
    afterwards), and a configured f1 scorer is, on the same predictions, the test F1 of that class."""
    from sklearn.metrics import average_precision_score

    model, X, y = fitted("binary", labels)
    classes = list(pd.unique(y))
    positive = positive_class(y)
    assert (y == positive).mean() < 0.5  # the rare class
    scorer, name = tuning_scorer("auto", "binary", classes, positive)
    index = list(model.classes_).index(positive)
    assert scorer(model, X, y) == pytest.approx(
        average_precision_score(y == positive, model.predict_proba(X)[:, index])
    )
    assert name == f"average_precision (positive class {positive})"
    f1, _ = tuning_scorer("f1", "binary", classes, positive)
    assert f1(model, X, y) == pytest.approx(score_model(model, X, y, "binary", positive)["f1"], abs=1e-6)


def test_the_positive_class_is_the_rare_one_unless_configured():
    assert positive_class(pd.Series(["good"] * 95 + ["bad"] * 5)) == "bad"
    assert positive_class(pd.Series([1] * 10 + [0] * 90)) == 1
    assert positive_class(pd.Series([0] * 50 + [1] * 50)) == 1  # an exact tie: the larger label, as before
    assert positive_class(pd.Series(["no"] * 50 + ["yes"] * 50)) == "yes"
    assert positive_class(pd.Series([0] * 90 + [1] * 10), configured="0") == 0  # matched by its text
    assert type(positive_class(pd.Series(np.array([0, 0, 1], dtype="int64")))) is int  # JSON-ready
    with pytest.raises(ValueError, match="not a class of the target"):
        positive_class(pd.Series(["a", "b"]), configured="c")


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_tuning_scores_the_metric_selection_ranks_on(task):
    """What tuning optimises in CV is, on the same predictions, exactly the test metric selection and the gate use."""
    model, X, y = fitted(task)
    classes = None if task == "regression" else list(pd.unique(y))
    scorer, name = tuning_scorer("auto", task, classes)
    tuned = (get_scorer(scorer) if isinstance(scorer, str) else scorer)(model, X, y)
    selected = score_model(model, X, y, task)[selection_metric("auto", task)]
    sign = 1 if higher_is_better(selection_metric("auto", task)) else -1
    assert sign * tuned == pytest.approx(selected, abs=1e-6)
    assert name.startswith(TASKS[task].tuning)


def test_every_task_selects_on_a_metric_it_measures_and_the_gate_can_bound():
    for task, defaults in TASKS.items():
        assert defaults.selection in defaults.metrics == task_metrics(task)
        assert default_metric(task) == defaults.selection


def test_a_configured_scorer_is_used_as_named():
    assert tuning_scorer("accuracy", "binary", [0, 1]) == ("accuracy", "accuracy")
    assert selection_metric("roc_auc", "binary") == "roc_auc"


def test_direction_of_metrics():
    assert is_better_or_equal(0.5, 0.6, "rmse") and not is_better_or_equal(0.7, 0.6, "rmse")
    assert is_better_or_equal(0.59, 0.6, "f1", tolerance=0.01)


def test_selection_metric_and_tolerance():
    assert selection_metric("auto", "regression") == "rmse"
    assert selection_metric("auto", "multiclass") == "f1"
    assert is_better_or_equal(0.895, 0.9, "f1", tolerance=0.01)
    assert not is_better_or_equal(0.85, 0.9, "f1", tolerance=0.01)
    assert is_better_or_equal(10.05, 10.0, "rmse", tolerance=0.1)
