"""The decision threshold of a binary classifier, chosen by cross-validation on the training part and kept inside
the fitted model, so that everything that predicts with it (evaluation, the gate, predict, the registry's Pipeline,
the MLflow directory, the service and its fast path) gives the same labels.

The threshold is chosen as scikit-learn's TunedThresholdClassifierCV chooses it (tune): the model's out-of-fold
answers (class probabilities, else decision values) of the seeded folds are scored at 100 candidate thresholds and
the one whose mean F1 of the positive class is highest is kept; the estimator is then refitted on the whole
training part. The fitted model kept is a FixedThresholdClassifier around that (frozen) estimator: plain
parameters (a number, a label, a method name), so that a registered Pipeline loads with skops' default trusted
types and nothing else (TunedThresholdClassifierCV keeps its scorer and splitter, which skops would have to be
told to trust).
"""

RESPONSES = ("predict_proba", "decision_function")
CANDIDATES = 100  # thresholds tried, as TunedThresholdClassifierCV's default


def tune(estimator, X, y, positive, folds, seed, candidates=CANDIDATES):
    """estimator (unfitted) fitted on X, y with the threshold that maximises the mean F1 of class `positive` over
    `folds` stratified, seeded folds of X, y: a FixedThresholdClassifier (see rule).

    What scikit-learn's TunedThresholdClassifierCV does (each fold's F1 curve interpolated on `candidates` thresholds
    spread over the folds' scores, averaged, the best kept, the estimator refitted on all rows), with each fold's
    F1 at every threshold from one precision-recall curve (sorting the scores once) instead of one F1 computation
    per threshold, which cost more than fitting a linear model (bench/threshold_cost.py)."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import precision_recall_curve
    from sklearn.model_selection import StratifiedKFold

    curves = []
    for fit_rows, score_rows in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        model = clone(estimator).fit(_rows(X, fit_rows), _rows(y, fit_rows))
        precision, recall, thresholds = precision_recall_curve(
            np.asarray(_rows(y, score_rows)) == positive, positive_scores(model, _rows(X, score_rows), positive)
        )
        precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        curves.append((thresholds, f1))
    low, high = min(t.min() for t, _ in curves), max(t.max() for t, _ in curves)
    grid = np.linspace(low, high, candidates)
    mean = np.mean([np.interp(grid, thresholds, f1) for thresholds, f1 in curves], axis=0)
    fitted = clone(estimator).fit(X, y)
    return fixed(fitted, float(grid[int(np.argmax(mean))]), positive, X, y)


def _rows(data, index):
    return data.iloc[index] if hasattr(data, "iloc") else data[index]


def positive_scores(model, X, positive):
    """The fitted model's score of class `positive` per row: its probability, else its decision value (higher:
    more likely positive), as FixedThresholdClassifier reads it."""
    import numpy as np

    classes = list(model.classes_)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, classes.index(positive)]
    scores = np.asarray(model.decision_function(X))
    return scores if classes.index(positive) == 1 else -scores


def fixed(fitted, threshold, positive, X, y):
    """A fitted estimator with a fixed decision threshold for class `positive` (no refit: it is frozen)."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    return FixedThresholdClassifier(FrozenEstimator(fitted), threshold=threshold, pos_label=positive).fit(X, y)


def estimator_of(model):
    """The estimator inside a thresholded model (the model itself otherwise)."""
    inner = getattr(model, "estimator_", None)
    if inner is None or not is_thresholded(model):
        return model
    return getattr(inner, "estimator", inner)  # FrozenEstimator keeps the fitted one as .estimator


def is_thresholded(model):
    from sklearn.model_selection import FixedThresholdClassifier

    return isinstance(model, FixedThresholdClassifier)


def rule(model):
    """{"positive_class", "threshold", "response"} of a thresholded model (response: what the threshold is on,
    class probabilities or decision values), None for any other model."""
    if not is_thresholded(model):
        return None
    inner = estimator_of(model)
    response = model.response_method
    if response == "auto":
        response = next(method for method in RESPONSES if hasattr(inner, method))
    positive = model.pos_label
    return {
        "positive_class": positive.item() if hasattr(positive, "item") else positive,
        "threshold": round(float(model.threshold), 6),
        "response": response,
    }
