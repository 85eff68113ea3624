"""snaketrain.estimators (the decision threshold): the threshold TunedThresholdClassifierCV would choose, kept inside the model."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from snaketrain import estimators, model_metrics


def rare(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde"))
    risk = X["a"] - X["b"] + rng.normal(size=n)
    return X, pd.Series(np.where(risk > np.quantile(risk, 0.95), "bad", "good"))


@pytest.mark.parametrize("estimator", [LogisticRegression(), RidgeClassifier()])
def test_the_threshold_is_scikit_learns_choice(estimator):
    X, y = rare()
    ours = estimators.tune_threshold(estimator, X, y, "bad", 5, 0)
    scorer = make_scorer(f1_score, pos_label="bad")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    theirs = TunedThresholdClassifierCV(estimator, scoring=scorer, cv=folds).fit(X, y)
    spread = np.ptp(estimators.positive_scores(estimators.inner_estimator(ours), X, "bad"))
    assert abs(ours.threshold - theirs.best_threshold_) < 0.02 * spread
    assert (ours.predict(X) != theirs.predict(X)).mean() < 0.01


def test_the_rule_names_class_threshold_and_response():
    X, y = rare(n=800)
    model = estimators.tune_threshold(LogisticRegression(), X, y, "bad", 3, 0)
    rule = estimators.threshold_rule(model)
    assert rule == {"positive_class": "bad", "threshold": round(model.threshold, 6), "response": "predict_proba"}
    assert isinstance(estimators.inner_estimator(model), LogisticRegression)
    plain = LogisticRegression().fit(X, y)
    assert estimators.threshold_rule(plain) is None and estimators.inner_estimator(plain) is plain
    # a positive class that is the first label: decision values are turned so that higher means positive
    ridge = RidgeClassifier().fit(X, y)
    assert (estimators.positive_scores(ridge, X, "bad") == -ridge.decision_function(X)).all()


def test_above_holdout_above_rows_the_threshold_is_chosen_on_one_holdout():
    X, y = rare()
    ours = estimators.tune_threshold(LogisticRegression(), X, y, "bad", 3, 0, holdout_above=len(X) - 1)
    # scikit-learn's choice with the same single stratified holdout of a third of the rows
    holdout = model_metrics.splits("binary", 3, 0, len(X), len(X) - 1)
    assert holdout.get_n_splits() == 1
    scorer = make_scorer(f1_score, pos_label="bad")
    theirs = TunedThresholdClassifierCV(LogisticRegression(), scoring=scorer, cv=holdout).fit(X, y)
    spread = np.ptp(estimators.positive_scores(estimators.inner_estimator(ours), X, "bad"))
    assert abs(ours.threshold - theirs.best_threshold_) < 0.02 * spread
    # at or below the limit (or with none): cross-validation
    assert model_metrics.splits("binary", 3, 0, len(X), len(X)).get_n_splits() == 3
    assert model_metrics.splits("regression", 3, 0, len(X), None).get_n_splits() == 3
