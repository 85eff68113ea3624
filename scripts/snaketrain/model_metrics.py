"""Test metrics per task, which direction is better for each, and the one table of each task's defaults."""

from typing import NamedTuple

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


class TaskDefaults(NamedTuple):
    metrics: tuple  # the test metrics evaluate_model measures; the ones gate.thresholds can bound
    selection: str  # the metric that ranks the models (selection.metric: auto) and the gate compares with production
    tuning: str  # the scorer tuning optimises (tuning.scoring: auto): the selection metric, measured in CV


# One definition of each default: tuning optimises what selection ranks on, so that the model picked by tuning is
# scored on the metric it was tuned for. "f1" is binary F1 of the positive class (the larger label) on a binary task
# and macro F1 on a multiclass one, in tuning and at test time alike (tests/unit/test_model_metrics.py checks).
TASKS = {
    "binary": TaskDefaults(CLASSIFICATION_METRICS, "f1", "f1"),
    "multiclass": TaskDefaults(CLASSIFICATION_METRICS, "f1", "f1_macro"),
    "regression": TaskDefaults(REGRESSION_METRICS, "rmse", "neg_root_mean_squared_error"),
}


def task_metrics(task):
    return TASKS[task].metrics


def default_metric(task):
    return TASKS[task].selection


def selection_metric(configured, task):
    return default_metric(task) if configured == "auto" else configured


def tuning_scorer(configured, task, classes=None):
    """(scorer for the search, its name): the configured scikit-learn scorer name, or the task's default.

    Binary F1 needs the positive class, which scikit-learn's "f1" scorer fixes at 1: with labels such as
    "no"/"yes" the scorer is made for the larger label, as the test metrics do.
    """
    name = TASKS[task].tuning if configured == "auto" else configured
    if name == "f1" and task == "binary" and classes is not None:
        from sklearn.metrics import f1_score, make_scorer

        positive = sorted(classes)[1]
        return make_scorer(f1_score, pos_label=positive, zero_division=0), f"f1 (positive class {positive})"
    return name, name


def higher_is_better(metric):
    return metric not in LOWER_IS_BETTER


def is_better_or_equal(a, b, metric, tolerance=0.0):
    """True when value a is no worse than b by more than tolerance."""
    if higher_is_better(metric):
        return a >= b - tolerance
    return a <= b + tolerance


def classification_metrics(y_true, y_pred, y_score=None, classes=None):
    """Accuracy, precision, recall, F1 (binary for two classes, macro otherwise) and ROC AUC if scores exist."""
    from sklearn import metrics as skm

    binary = classes is not None and len(classes) == 2
    averaging = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    result = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0, **averaging),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0, **averaging),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0, **averaging),
    }
    if y_score is not None:
        if binary:
            result["roc_auc"] = skm.roc_auc_score(y_true, y_score[:, 1])
        else:
            result["roc_auc"] = skm.roc_auc_score(y_true, y_score, multi_class="ovr", average="macro", labels=classes)
    return {name: round(float(value), 6) for name, value in result.items()}


def regression_metrics(y_true, y_pred):
    from sklearn import metrics as skm

    result = {
        "rmse": skm.root_mean_squared_error(y_true, y_pred),
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "r2": skm.r2_score(y_true, y_pred),
    }
    return {name: round(float(value), 6) for name, value in result.items()}


def prediction_metrics(y, prediction, task):
    """All test metrics of an inference.Prediction against the true values y."""
    if task == "regression":
        return regression_metrics(y, prediction.labels)
    return classification_metrics(y, prediction.labels, prediction.probabilities, classes=prediction.classes)


def score_model(model, X, y, task):
    """All test metrics of a fitted model on (X, y)."""
    y_pred = model.predict(X)
    if task == "regression":
        return regression_metrics(y, y_pred)
    y_score = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    return classification_metrics(y, y_pred, y_score, classes=list(model.classes_))
