"""The split_data stage: a seeded, stratified train/test split."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.stages.split_data import check_classes, check_sizes, split
from tests.tables import labelled_frame


def test_split_is_stratified_and_seeded():
    df = labelled_frame(n=100)
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) == 80 and len(test) == 20
    assert test["label"].value_counts().to_dict() == {"yes": 10, "no": 10}
    again, _ = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    pd.testing.assert_frame_equal(train, again)


def test_split_drops_rows_without_target():
    df = labelled_frame(n=100)
    df.loc[:9, "label"] = None
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) + len(test) == 90


def penguins(rows=344):
    return pd.DataFrame({"x": range(rows), "species": np.arange(rows) % 3})


def test_a_test_size_that_empties_the_training_part():
    with pytest.raises(StageError) as caught:
        split(penguins(), "species", "multiclass", 0.999, 1, False)
    assert "split.test_size 0.999 on 344 rows gives 0 training and 344 test rows" in str(caught.value)
    assert "allows split.test_size from 0.0030 to 0.997" in str(caught.value).replace("0.003 ", "0.0030 ")
    assert caught.value.where == "config key split.test_size"


@pytest.mark.parametrize("rows", [7, 50, 344, 1001])
def test_both_ends_of_the_range_offered_do_split(rows):
    df = penguins(rows)
    with pytest.raises(StageError) as caught:
        split(df, "species", "multiclass", 0.9999, 1, True)
    low, high = (float(v) for v in caught.value.fix.split("between ")[1].split(",")[0].split(" and "))
    for test_size in (low, high):
        train, test = split(df, "species", "multiclass", test_size, 1, True)
        assert set(train["species"]) == set(test["species"]) == {0, 1, 2}


def test_a_stratified_test_part_too_small_for_every_class():
    with pytest.raises(StageError, match="gives 343 training and 1 test rows; both parts need at least 3 rows each"):
        split(penguins(), "species", "multiclass", 0.001, 1, True)


def test_too_few_rows_for_any_split():
    with pytest.raises(StageError, match="too few rows for that: 2 are needed"):
        check_sizes(1, 0.5)


def test_a_class_with_one_row_cannot_be_stratified():
    with pytest.raises(StageError, match="class 2 has only 1 row with a known target"):
        check_sizes(9, 0.3, pd.Series([0, 0, 0, 0, 1, 1, 1, 1, 2]))


def test_rows_with_an_infinite_target_are_dropped_like_missing_ones():
    df = pd.DataFrame({"x": range(10), "y": [0.5, np.inf, 1.5, -np.inf, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0]})
    train, test = split(df, "y", "regression", 0.25, 1, False)
    assert len(train) + len(test) == 7
    assert np.isfinite(pd.concat([train, test])["y"]).all()


def test_a_training_part_of_one_class_is_explained():
    df = pd.DataFrame({"a": range(7), "target": [0, 0, 0, 0, 0, 1, None]})
    with pytest.raises(
        StageError, match=r"the training part holds only class\(es\) 0.0; class\(es\) 1.0 are only in the test part"
    ):
        split(df, "target", "binary", 0.2, 7, False)


def test_a_class_only_in_the_test_part_is_explained():
    df = pd.DataFrame({"a": range(12), "target": [0, 1] * 5 + [2, 2]})
    with pytest.raises(StageError, match=r"class\(es\) 2 are only in the test part, so no model can learn them"):
        check_classes(df["target"][:10], df["target"][8:])
