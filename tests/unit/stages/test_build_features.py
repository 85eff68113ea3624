"""The build_features stage: a preprocessor fitted on the train split only, capped one-hot columns, clear errors."""

import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.stages.build_features import fit_transform
from tests.tables import mixed_frame

SETTINGS = {"drop": ["id"], "numeric_imputer": "median", "scale": True, "max_categories": 3}


def test_features_are_fitted_on_train_only():
    df = mixed_frame()
    train_df, test_df = df.iloc[:80].reset_index(drop=True), df.iloc[80:].reset_index(drop=True)
    test_df["x"] = test_df["x"] + 1000  # a shift in test must not leak into the scaler
    pre, train_x, test_x, schema = fit_transform(train_df, test_df, "y", SETTINGS)
    assert abs(train_x["x"].mean()) < 1e-9
    assert test_x["x"].mean() > 100
    assert "id" not in schema["columns"] and schema["columns"]["colour"] == "categorical"
    assert not train_x.drop(columns="y").isna().any().any()


def test_one_hot_columns_are_capped_when_the_user_asks_for_one_hot():
    df = mixed_frame()
    _, train_x, _, schema = fit_transform(df, df, "y", {**SETTINGS, "encoding": {"colour": "onehot"}})
    colour_columns = [c for c in schema["features_out"] if c.startswith("colour")]
    assert len(colour_columns) == 3


def test_a_column_with_more_values_than_max_categories_is_target_encoded():
    df = mixed_frame()
    _, train_x, _, schema = fit_transform(df, df, "y", SETTINGS)
    assert schema["kinds"]["colour"]["kind"] == "many_valued"
    assert [c for c in schema["features_out"] if c.startswith("colour")] == ["colour"]
    assert train_x["colour"].nunique() > 1


def test_drop_of_unknown_column_is_a_clear_error():
    df = mixed_frame()
    with pytest.raises(StageError, match="features.drop names columns that do not exist: nope"):
        fit_transform(df, df, "y", {**SETTINGS, "drop": ["nope"]})


def test_a_test_value_far_outside_the_training_range_is_named():
    train = pd.DataFrame({"b": [0.0] * 6, "c": range(6), "target": [0, 1] * 3})
    test = pd.DataFrame({"b": [1e95, 0.0], "c": [1, 2], "target": [0, 1]})
    with pytest.raises(StageError, match=r"'b' \(largest magnitude 1e\+95\)") as caught:
        fit_transform(train, test, "target", {**SETTINGS, "drop": []})
    assert "'c'" not in str(caught.value)


def test_values_whose_variance_overflows_are_named():
    train = pd.DataFrame({"b": [1.5e249, -9.8e263, 0.0, 1.0], "target": [0, 1] * 2})
    with pytest.raises(StageError, match="too large, or too far from the training rows' range"):
        fit_transform(train, train, "target", {**SETTINGS, "drop": []})
