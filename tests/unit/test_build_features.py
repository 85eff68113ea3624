"""Features that would come out NaN, infinite or beyond float32 are explained naming the columns."""

import pandas as pd
import pytest

from snaketrain.build_features import fit_transform
from snaketrain.stage_log import StageError

SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 5}


def test_a_test_value_far_outside_the_training_range_is_named():
    train = pd.DataFrame({"b": [0.0] * 6, "c": range(6), "target": [0, 1] * 3})
    test = pd.DataFrame({"b": [1e95, 0.0], "c": [1, 2], "target": [0, 1]})
    with pytest.raises(StageError, match=r"'b' \(largest magnitude 1e\+95\)") as caught:
        fit_transform(train, test, "target", SETTINGS)
    assert "'c'" not in str(caught.value)


def test_values_whose_variance_overflows_are_named():
    train = pd.DataFrame({"b": [1.5e249, -9.8e263, 0.0, 1.0], "target": [0, 1] * 2})
    with pytest.raises(StageError, match="too large, or too far from the training rows' range"):
        fit_transform(train, train, "target", SETTINGS)
