"""Test metrics per task, which direction is better for each, and the one table of each task's defaults."""

from typing import NamedTuple

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


class TaskDefaults(NamedTuple):
    metrics: tuple  # the test metrics evaluate_model measures; the ones gate.thresholds can bound
    selection: str  # the metric that ranks the models (selection.metric: auto) and the gate compares with production
    tuning: str  # the scorer tuning optimises (tuning.scoring: auto): the selection metric, measured in CV


# One definition of each default. "f1" is F1 of the positive class (positive_class: the rare one unless
# data.positive_class names it) on a binary task and macro F1 on a multiclass one. On a binary task the decision
# threshold is tuned after the hyperparameters (estimators.py, to maximise that F1), so the search ranks
# candidates on a threshold-free score of the same class, average precision: F1 at the default threshold of 0.5
# would judge a threshold the model never uses, and is 0 for every candidate on a rare class. Elsewhere tuning
# optimises what selection ranks on (tests/unit/test_model_metrics.py checks both).
TASKS = {
    "binary": TaskDefaults(CLASSIFICATION_METRICS, "f1", "average_precision"),
    "multiclass": TaskDefaults(CLASSIFICATION_METRICS, "f1", "f1_macro"),
    "regression": TaskDefaults(REGRESSION_METRICS, "rmse", "neg_root_mean_squared_error"),
}


def task_metrics(task):
    return TASKS[task].metrics


def default_metric(task):
    return TASKS[task].selection


def selection_metric(configured, task):
    return default_metric(task) if configured == "auto" else configured


def positive_class(y, configured=None):
    """The positive class of a binary task: the configured one (data.positive_class, matched to a label by its
    text, so that `1` in YAML names the label 1 or "1"), else the minority class of y (the training part), an exact
    tie going to the larger label. A plain Python value; ValueError naming the labels when the configured one is
    not among them."""
    import pandas as pd

    counts = pd.Series(y).dropna().value_counts()
    labels = sorted(counts.index.tolist())
    if configured is not None:
        match = [label for label in labels if str(label) == str(configured)]
        if not match:
            raise ValueError(
                f"data.positive_class is {configured!r}, which is not a class of the target (classes: "
                + ", ".join(repr(_plain(label)) for label in labels)
                + ")"
            )
        return _plain(match[0])
    fewest = counts.min()
    return _plain(max(label for label in labels if counts[label] == fewest))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def tuning_scorer(configured, task, classes=None, positive=None):
    """(scorer for the search, its name): the configured scikit-learn scorer name, or the task's default.

    Binary F1, precision, recall and average precision need the positive class, which scikit-learn's scorers fix
    at 1: with labels such as "no"/"yes", or a rare class 0, the scorer is made for the positive class (positive,
    else positive_class(classes): the larger label of two), as the test metrics are.
    """
    name = TASKS[task].tuning if configured == "auto" else configured
    if name in POSITIVE_SCORERS and task == "binary" and classes is not None:
        from sklearn import metrics as skm

        if positive is None:
            positive = sorted(classes)[1]
        function, options = POSITIVE_SCORERS[name]
        scorer = skm.make_scorer(getattr(skm, function), pos_label=positive, **options)
        return scorer, f"{name} (positive class {positive})"
    return name, name


# scorers of one class: made for the positive class (tuning_scorer); ranking ones read scores, not labels
_RANKING = {"response_method": ("decision_function", "predict_proba")}
POSITIVE_SCORERS = {
    "f1": ("f1_score", {"zero_division": 0}),
    "precision": ("precision_score", {"zero_division": 0}),
    "recall": ("recall_score", {"zero_division": 0}),
    "average_precision": ("average_precision_score", _RANKING),
}


def higher_is_better(metric):
    return metric not in LOWER_IS_BETTER


def is_better_or_equal(a, b, metric, tolerance=0.0):
    """True when value a is no worse than b by more than tolerance."""
    if higher_is_better(metric):
        return a >= b - tolerance
    return a <= b + tolerance


def classification_metrics(y_true, y_pred, y_score=None, classes=None, positive=None):
    """Accuracy, precision, recall, F1 (of the positive class for two classes, macro otherwise) and ROC AUC if
    scores exist. positive: the positive class (None: the larger label, the rule before positive classes)."""
    from sklearn import metrics as skm

    binary = classes is not None and len(classes) == 2
    if binary and positive is None:
        positive = classes[1]
    averaging = {"average": "binary", "pos_label": positive} if binary else {"average": "macro"}
    result = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0, **averaging),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0, **averaging),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0, **averaging),
    }
    if y_score is not None:
        if binary:
            # the larger label's scores: ROC AUC is the same whichever of two classes is called positive
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


def prediction_metrics(y, prediction, task, positive=None):
    """All test metrics of an inference.Prediction against the true values y (binary: of the positive class)."""
    if task == "regression":
        return regression_metrics(y, prediction.labels)
    return classification_metrics(y, prediction.labels, prediction.probabilities, prediction.classes, positive)


def score_model(model, X, y, task, positive=None):
    """All test metrics of a fitted model on (X, y); binary: of the positive class (None: the one the model's
    decision threshold is for, else the larger label)."""
    y_pred = model.predict(X)
    if task == "regression":
        return regression_metrics(y, y_pred)
    if positive is None:
        positive = getattr(model, "pos_label", None)
    y_score = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    return classification_metrics(y, y_pred, y_score, list(model.classes_), positive)


# How tuning and the decision threshold hold out rows: `folds`-fold cross-validation (stratified for
# classification), or above `holdout_above` training rows one seeded holdout of 1/folds of them (a fold's cost: on a
# large table one holdout scores a candidate about as surely as several folds do on a small one)


def holds_out(rows, holdout_above):
    return holdout_above is not None and rows is not None and rows > holdout_above


def splits(task, folds, seed, rows=None, holdout_above=None):
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    if holds_out(rows, holdout_above):
        return (ShuffleSplit if task == "regression" else StratifiedShuffleSplit)(
            1, test_size=1 / folds, random_state=seed
        )
    return (KFold if task == "regression" else StratifiedKFold)(folds, shuffle=True, random_state=seed)


def describe_splits(folds, rows=None, holdout_above=None):
    if holds_out(rows, holdout_above):
        return f"one seeded holdout of 1/{folds} of the rows ({rows:,} rows > tuning.holdout_above {holdout_above:,})"
    return f"{folds}-fold cross-validation"
