"""The naive rule a model must beat, and by how much chance could make it look better: a paired bootstrap of the
selection metric over the test rows (docs/gate.md says why these statistics).

The naive rule is the best constant answer for the metric, learnt from the training part and scored on the same
test rows as the model:
- regression: the mean of the training target, for every row;
- F1, precision and recall of the positive class (binary): "always the positive class". The most frequent class
  scores 0 on these when the positive class is the rare one, and any answer that ignores the features (a noisy
  model) expects no more than the positive class's prevalence as precision, so "always positive" is the constant to
  beat: a model that beats it by a margin has learnt something about the rare class;
- accuracy and macro F1, precision and recall (multiclass): the most frequent class of the training part;
- ROC AUC: one score for every row (the class prior), whose ROC AUC is 0.5;
- class probabilities (Brier score, the test of skill when a classifier gives probabilities): the class prior of the
  training part for every row.

Standard library and numpy only (the gate is a light job).
"""

import numpy as np

POSITIVE_METRICS = frozenset({"f1", "precision", "recall"})
LOWER_IS_BETTER = frozenset({"rmse", "mae", "brier"})
CELLS = 2_000_000  # resamples x rows held in memory at once


def most_frequent(y):
    """The most frequent label of y; a tie goes to the label that sorts first (as text)."""
    values, counts = np.unique(np.asarray(y, dtype=object).astype(str), return_counts=True)
    label = values[np.argmax(counts)]  # np.unique sorts, argmax takes the first of the largest counts
    originals = {str(value): value for value in y}
    value = originals[label]
    return value.item() if hasattr(value, "item") else value


def naive_rule(task, metric, y_train, positive=None):
    """{"rule": a sentence, "label" or "value" or "score": the constant}: the naive rule for metric on a task."""
    if task == "regression":
        mean = float(np.mean(np.asarray(y_train, dtype=float)))
        return {"rule": f"the training mean ({mean:.6g}) for every row", "value": mean}
    if metric == "roc_auc":
        return {"rule": "one score for every row (the class prior): ROC AUC 0.5", "score": 0.5}
    if task == "binary" and metric in POSITIVE_METRICS:
        return {"rule": f"always the positive class ({positive})", "label": positive}
    label = most_frequent(y_train)
    return {"rule": f"always the most frequent class ({label})", "label": label}


def class_prior(y_train, classes):
    """The share of each class (classes' order) in the training part: the naive rule's probabilities."""
    y_train = np.asarray(y_train, dtype=object)
    return np.array([np.mean(y_train == label) for label in classes], dtype=float)


def naive_predictions(rule, rows):
    """The naive rule's answers for `rows` test rows: labels, values, or None (a constant score)."""
    if "label" in rule:
        return np.full(rows, rule["label"], dtype=object)
    if "value" in rule:
        return np.full(rows, rule["value"], dtype=float)
    return None


def resample_weights(rows, resamples, seed):
    """Chunks of bootstrap weights (resamples x rows: how often each row is drawn), seeded: the same on every run."""
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, rows, size=(size, rows))
        offsets = (np.arange(size) * rows)[:, None]
        yield np.bincount((drawn + offsets).ravel(), minlength=size * rows).reshape(size, rows).astype(float)


def _ratio(top, bottom):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), 0.0)


def _class_scores(weights, y, pred, label, metric):
    truth, said = (y == label).astype(float), (pred == label).astype(float)
    tp, pp, ap = weights @ (truth * said), weights @ said, weights @ truth
    if metric == "precision":
        return _ratio(tp, pp)
    if metric == "recall":
        return _ratio(tp, ap)
    return _ratio(2 * tp, pp + ap)


def _binary_auc(weights, y_positive, score):
    """ROC AUC of score for y_positive under each row of weights (ties count a half, as scikit-learn's)."""
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    positive = y_positive[order].astype(float)
    w = weights[:, order]
    pos = np.add.reduceat(w * positive, starts, axis=1)
    neg = np.add.reduceat(w * (1 - positive), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((total_pos > 0) & (total_neg > 0), wins / (total_pos * total_neg), np.nan)


def weighted_metric(metric, weights, y, pred=None, scores=None, positive=None, classes=None):
    """metric of the answers against y under each row of weights (resamples x rows); one value per resample.

    pred: labels or values; scores: rows x classes (classes' order) for ROC AUC, or None for a constant score;
    positive: the positive class of a binary task (F1, precision, recall of it), None for macro averages."""
    if metric == "brier":  # mean over rows of the squared distance of the class probabilities from the truth
        truth = np.column_stack([np.asarray(y, dtype=object) == label for label in classes]).astype(float)
        return weights @ ((np.asarray(scores, dtype=float) - truth) ** 2).sum(axis=1) / weights.sum(axis=1)
    if metric in ("rmse", "mae", "r2"):
        y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
        if metric == "mae":
            return weights @ np.abs(y - pred) / weights.sum(axis=1)
        squared = weights @ (y - pred) ** 2
        if metric == "rmse":
            return np.sqrt(squared / weights.sum(axis=1))
        n = weights.sum(axis=1)
        spread = weights @ y**2 - (weights @ y) ** 2 / n
        return 1 - _ratio(squared, spread)
    y = np.asarray(y, dtype=object)
    if metric == "roc_auc":
        if scores is None:
            return np.full(len(weights), 0.5)
        if len(classes) == 2:
            return _binary_auc(weights, y == classes[1], np.asarray(scores)[:, 1])
        per_class = [_binary_auc(weights, y == label, np.asarray(scores)[:, i]) for i, label in enumerate(classes)]
        return np.mean(per_class, axis=0)
    pred = np.asarray(pred, dtype=object)
    if metric == "accuracy":
        return weights @ (y == pred).astype(float) / weights.sum(axis=1)
    if positive is not None:
        return _class_scores(weights, y, pred, positive, metric)
    # macro average over the labels of the whole test split and the answers, as scikit-learn's on those rows
    labels = sorted(set(y.tolist()) | set(pred.tolist()), key=str)
    return np.mean([_class_scores(weights, y, pred, label, metric) for label in labels], axis=0)


def point(metric, y, pred=None, scores=None, positive=None, classes=None):
    """metric on the test rows themselves (every row once)."""
    ones = np.ones((1, len(y)))
    return float(weighted_metric(metric, ones, y, pred, scores, positive, classes)[0])


def paired_bootstrap(metric, y, candidate, naive, resamples, seed, confidence, positive=None, classes=None):
    """How much better the candidate is than the naive rule on metric, and how sure: both scored on the same
    resamples of the test rows (paired), `resamples` of them drawn with `seed`.

    candidate, naive: {"pred": labels or values, "scores": rows x classes or None}. Returns {candidate, naive,
    difference (better is positive, whatever the metric's direction), lower (the one-sided `confidence` lower
    bound of the difference: its (1 - confidence) quantile over the resamples), resamples, seed, confidence}."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    common = {"positive": positive, "classes": classes}
    differences = []
    for weights in resample_weights(len(y), resamples, seed):
        mine = weighted_metric(metric, weights, y, candidate.get("pred"), candidate.get("scores"), **common)
        theirs = weighted_metric(metric, weights, y, naive.get("pred"), naive.get("scores"), **common)
        differences.append(sign * (mine - theirs))
    differences = np.concatenate(differences)
    differences = differences[~np.isnan(differences)]
    mine = point(metric, y, candidate.get("pred"), candidate.get("scores"), **common)
    theirs = point(metric, y, naive.get("pred"), naive.get("scores"), **common)
    lower = float(np.quantile(differences, 1 - confidence)) if len(differences) else float("nan")
    return {
        "candidate": round(mine, 6),
        "naive": round(theirs, 6),
        "difference": round(sign * (mine - theirs), 6),
        "lower": round(lower, 6),
        "resamples": resamples,
        "seed": seed,
        "confidence": confidence,
    }
