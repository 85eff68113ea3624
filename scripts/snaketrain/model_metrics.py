"""Test metrics per task, and which direction is better for each."""

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


def task_metrics(task):
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def default_metric(task):
    return "rmse" if task == "regression" else "f1"


def selection_metric(configured, task):
    return default_metric(task) if configured == "auto" else configured


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
