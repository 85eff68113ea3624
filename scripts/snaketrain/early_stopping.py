"""Early stopping inside cross-validation: a boosted model whose fit holds out a seeded part of the rows it is given
and stops adding rounds once that part has not improved for a while, so that a search's fits cost the rounds each
candidate needs, not the family's whole budget (bench/README.md, "Time to a good model").

Each fit sees only its fold's training rows: the held-out part comes from them (stratified for classification), never
from the fold it is scored on, as train_model's early stopping never sees the test split.
"""

from sklearn.base import BaseEstimator, clone

from snaketrain.estimators import VALIDATION_FRACTION, fit_with_early_stopping

PREFIX = "estimator__"


class EarlyStopped(BaseEstimator):
    """estimator fitted with early stopping on `fraction` of its rows (seeded), `rounds` rounds without
    improvement; predicts with the rounds that were best."""

    def __init__(self, estimator, rounds=20, fraction=VALIDATION_FRACTION, seed=0, classification=True):
        self.estimator = estimator
        self.rounds = rounds
        self.fraction = fraction
        self.seed = seed
        self.classification = classification

    def fit(self, X, y):
        from sklearn.model_selection import train_test_split

        stratify = y if self.classification else None
        X_fit, X_valid, y_fit, y_valid = train_test_split(
            X, y, test_size=self.fraction, random_state=self.seed, stratify=stratify
        )
        model = clone(self.estimator)
        self.best_rounds_ = fit_with_early_stopping(model, X_fit, y_fit, X_valid, y_valid, self.rounds)
        self.estimator_ = model
        if hasattr(model, "classes_"):
            self.classes_ = model.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()


def wrap(estimator, space, rounds, seed, task):
    """(EarlyStopped estimator, its search space): the space's parameters are the inner estimator's."""
    wrapped = EarlyStopped(estimator, rounds=rounds, seed=seed, classification=task != "regression")
    return wrapped, {PREFIX + name: values for name, values in space.items()}


def unwrap(params):
    """A candidate's parameters as the inner estimator's names."""
    return {name.removeprefix(PREFIX): value for name, value in params.items()}
