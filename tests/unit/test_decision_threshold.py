"""snaketrain.decision_threshold: the threshold TunedThresholdClassifierCV would choose, kept inside the model."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from snaketrain import decision_threshold


def rare(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde"))
    risk = X["a"] - X["b"] + rng.normal(size=n)
    return X, pd.Series(np.where(risk > np.quantile(risk, 0.95), "bad", "good"))


@pytest.mark.parametrize("estimator", [LogisticRegression(), RidgeClassifier()])
def test_the_threshold_is_scikit_learns_choice(estimator):
    X, y = rare()
    ours = decision_threshold.tune(estimator, X, y, "bad", 5, 0)
    scorer = make_scorer(f1_score, pos_label="bad")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    theirs = TunedThresholdClassifierCV(estimator, scoring=scorer, cv=folds).fit(X, y)
    spread = np.ptp(decision_threshold.positive_scores(decision_threshold.estimator_of(ours), X, "bad"))
    assert abs(ours.threshold - theirs.best_threshold_) < 0.02 * spread
    assert (ours.predict(X) != theirs.predict(X)).mean() < 0.01


def test_the_rule_names_class_threshold_and_response():
    X, y = rare(n=800)
    model = decision_threshold.tune(LogisticRegression(), X, y, "bad", 3, 0)
    rule = decision_threshold.rule(model)
    assert rule == {"positive_class": "bad", "threshold": round(model.threshold, 6), "response": "predict_proba"}
    assert isinstance(decision_threshold.estimator_of(model), LogisticRegression)
    plain = LogisticRegression().fit(X, y)
    assert decision_threshold.rule(plain) is None and decision_threshold.estimator_of(plain) is plain
    # a positive class that is the first label: decision values are turned so that higher means positive
    ridge = RidgeClassifier().fit(X, y)
    assert (decision_threshold.positive_scores(ridge, X, "bad") == -ridge.decision_function(X)).all()
