"""tuning.cv against the training rows: every fold needs a row (of every class)."""

import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.tune_model import check_folds


def test_more_folds_than_rows_of_the_smallest_class():
    y = pd.Series(["a"] * 20 + ["b"] * 3)
    with pytest.raises(StageError, match="tuning.cv is 5, but there are only 3 training rows of class 'b'") as caught:
        check_folds(5, y, "binary")
    assert "set tuning.cv to at most 3" in caught.value.fix
    assert caught.value.where == "config key tuning.cv"


def test_more_folds_than_rows_for_regression():
    with pytest.raises(StageError, match="tuning.cv is 5, but there are only 4 training rows"):
        check_folds(5, pd.Series([1.0, 2.0, 3.0, 4.0]), "regression")


def test_enough_rows_pass():
    check_folds(3, pd.Series(["a", "b"] * 3), "binary")
