"""The gate's naive rule (stages/quality_gate.py): the naive rule per metric, and the bootstrap's weighted metrics equal scikit-learn's."""

import numpy as np
import pytest
from sklearn import metrics as skm

from snaketrain.stages.quality_gate import (
    most_frequent,
    naive_predictions,
    naive_rule,
    paired_bootstrap,
    point,
    resample_weights,
    weighted_metric,
)

RNG = np.random.default_rng(0)
N = 500
Y = np.where(RNG.random(N) < 0.1, "bad", "good").astype(object)
SCORE = RNG.random(N) + 0.5 * (Y == "bad")
PRED = np.where(SCORE > 0.8, "bad", "good").astype(object)
WEIGHTS = next(resample_weights(N, 5, 1))


def test_the_naive_rule_is_the_best_constant_for_the_metric():
    y_train = np.array(["good"] * 90 + ["bad"] * 10)
    assert naive_rule("binary", "f1", y_train, "bad")["label"] == "bad"
    assert naive_rule("binary", "accuracy", y_train, "bad")["label"] == "good"
    assert naive_rule("binary", "roc_auc", y_train, "bad")["score"] == 0.5
    assert naive_rule("multiclass", "f1", np.array([2, 2, 1, 3]))["label"] == 2
    assert naive_rule("regression", "rmse", np.array([1.0, 2.0, 6.0]))["value"] == 3.0
    assert most_frequent(np.array(["b", "a", "b", "a"])) == "a"  # a tie: the label that sorts first
    assert list(naive_predictions({"label": "bad"}, 3)) == ["bad"] * 3
    # "always the positive class" scores the F1 no answer that ignores the features beats in expectation: 2p/(1+p)
    share = (Y == "bad").mean()
    assert point("f1", Y, naive_predictions({"label": "bad"}, N), positive="bad") == pytest.approx(
        2 * share / (1 + share)
    )


@pytest.mark.parametrize(
    ("metric", "function"), [("f1", skm.f1_score), ("precision", skm.precision_score), ("recall", skm.recall_score)]
)
def test_metrics_of_the_positive_class_under_weights_are_scikit_learns(metric, function):
    ours = weighted_metric(metric, WEIGHTS, Y, PRED, positive="bad")
    expected = [function(Y, PRED, pos_label="bad", sample_weight=w, zero_division=0) for w in WEIGHTS]
    np.testing.assert_allclose(ours, expected)


def test_accuracy_macro_f1_auc_and_regression_metrics_under_weights_are_scikit_learns():
    np.testing.assert_allclose(
        weighted_metric("accuracy", WEIGHTS, Y, PRED), [skm.accuracy_score(Y, PRED, sample_weight=w) for w in WEIGHTS]
    )
    for score in (SCORE, np.round(SCORE, 1)):  # with ties too
        scores = np.column_stack([1 - score, score])
        ours = weighted_metric("roc_auc", WEIGHTS, Y, scores=scores, classes=["bad", "good"])
        np.testing.assert_allclose(ours, [skm.roc_auc_score(Y == "good", score, sample_weight=w) for w in WEIGHTS])
    labels = RNG.integers(0, 3, N)
    guesses = np.where(RNG.random(N) < 0.7, labels, RNG.integers(0, 3, N))
    np.testing.assert_allclose(
        weighted_metric("f1", WEIGHTS, labels, guesses),
        [skm.f1_score(labels, guesses, average="macro", sample_weight=w) for w in WEIGHTS],
    )
    truth = RNG.normal(size=N)
    guess = truth + RNG.normal(size=N)
    for metric, function in (
        ("rmse", skm.root_mean_squared_error),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ):
        expected = [function(truth, guess, sample_weight=w) for w in WEIGHTS]
        np.testing.assert_allclose(weighted_metric(metric, WEIGHTS, truth, guess), expected)


def test_the_bootstrap_is_seeded_paired_and_oriented_so_that_better_is_positive():
    naive = {"pred": naive_predictions({"label": "bad"}, N)}
    first = paired_bootstrap("f1", Y, {"pred": PRED}, naive, 500, 3, 0.95, positive="bad")
    assert first == paired_bootstrap("f1", Y, {"pred": PRED}, naive, 500, 3, 0.95, positive="bad")
    assert first["difference"] > first["lower"] > 0
    truth = RNG.normal(size=N)
    mean = {"pred": np.full(N, truth.mean())}
    errors = paired_bootstrap("rmse", truth, {"pred": truth + 0.1}, mean, 200, 0, 0.95)
    assert errors["candidate"] < errors["naive"] and errors["lower"] > 0  # lower error: a positive gain
    # resamples come in chunks of at most CELLS weights, adding up to the number asked for
    assert sum(len(w) for w in resample_weights(N, 9000, 0)) == 9000


def test_the_resamples_are_the_same_whatever_the_chunk_size(monkeypatch):
    # the memory bound (CELLS) decides how many resamples are drawn at once, never which rows they hold
    from snaketrain.stages import quality_gate

    whole = np.vstack(list(resample_weights(N, 300, 5)))
    monkeypatch.setattr(quality_gate, "CELLS", 7 * N)
    chunks = list(resample_weights(N, 300, 5))
    assert len(chunks) > 1 and np.array_equal(np.vstack(chunks), whole)
