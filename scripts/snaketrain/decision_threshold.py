"""The decision threshold of a binary classifier, chosen by cross-validation on the training part and kept inside
the fitted model, so that everything that predicts with it (evaluation, the gate, predict, the registry's Pipeline,
the MLflow directory, the service and its fast path) gives the same labels.

scikit-learn's TunedThresholdClassifierCV chooses the threshold: it scores the model's out-of-fold answers (class
probabilities, else decision values) of the seeded folds at 100 candidate thresholds and keeps the one whose mean
F1 of the positive class is highest, then refits the estimator on the whole training part. The fitted model kept is
a FixedThresholdClassifier around that (frozen) estimator: the same labels, but plain parameters (a number, a
label, a method name), so that a registered Pipeline loads with skops' default trusted types and nothing else
(TunedThresholdClassifierCV keeps its scorer and splitter, which skops would have to be told to trust).
"""

RESPONSES = ("predict_proba", "decision_function")


def tune(estimator, X, y, positive, folds, seed):
    """estimator (unfitted) fitted on X, y with the threshold that maximises the mean F1 of class `positive` over
    `folds` stratified, seeded folds of X, y: a FixedThresholdClassifier (see rule)."""
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    tuned = TunedThresholdClassifierCV(
        estimator,
        scoring=make_scorer(f1_score, pos_label=positive, zero_division=0),
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        refit=True,
        random_state=seed,
    ).fit(X, y)
    return fixed(tuned.estimator_, float(tuned.best_threshold_), positive, X, y)


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
