"""XGBoost's classifier for labels as users have them ("yes"/"no", species names, codes with gaps).

XGBoost learns on class codes 0..k-1 only (since 2.0 it no longer encodes labels). This subclass encodes the labels
it is fitted on (and those of an early-stopping eval_set), then answers with the labels: predict returns them and
classes_ holds them, as every scikit-learn classifier does, so metrics, the registry and the service see the same
labels whichever family won. Its params are XGBClassifier's, so search spaces and halving work unchanged.
"""

import numpy as np
from xgboost import XGBClassifier


class XGBLabelClassifier(XGBClassifier):
    def fit(self, X, y, *, eval_set=None, **kwargs):
        labels = np.unique(np.asarray(y))
        codes = self._codes(labels, y)
        if eval_set is not None:
            eval_set = [(X_eval, self._codes(labels, y_eval)) for X_eval, y_eval in eval_set]
        self.labels_ = None  # while XGBoost fits, classes_ are the codes it checks y against
        super().fit(X, codes, eval_set=eval_set, **kwargs)
        self.labels_ = labels
        return self

    @property
    def classes_(self):
        # XGBClassifier's own is range(n_classes_): the codes it learns on
        labels = getattr(self, "labels_", None)
        return labels if labels is not None else np.arange(self.n_classes_)

    @staticmethod
    def _codes(labels, y):
        y = np.asarray(y)
        codes = np.searchsorted(labels, y)
        if (codes >= len(labels)).any() or (labels[np.minimum(codes, len(labels) - 1)] != y).any():
            raise ValueError("an eval_set holds labels the training rows do not have")
        return codes

    def predict(self, X, **kwargs):
        return self.classes_[np.asarray(super().predict(X, **kwargs), dtype=np.intp)]
