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


def priced_table(n=400, seed=0, classes=None):
    """Houses with whole-dollar prices (or, with classes, an integer-coded class) and a many-valued city."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cities = [f"city{i}" for i in range(40)]
    df = pd.DataFrame({"city": rng.choice(cities, n), "sqft": rng.integers(500, 4000, n)})
    df["price"] = (df["sqft"] * 150 + rng.integers(0, 50_000, n)).astype("int64")  # nearly every price distinct
    if classes:
        df["price"] = rng.integers(0, classes, n)  # class codes 0, 1, 2
    return df


def test_an_integer_regression_target_stays_continuous_for_the_target_encoder():
    df = priced_table()
    settings = {**SETTINGS, "drop": [], "max_categories": 20}
    _, train_x, _, schema = fit_transform(
        df.iloc[:300], df.iloc[300:].reset_index(drop=True), "price", settings, task="regression"
    )
    assert schema["kinds"]["city"]["kind"] == "many_valued"
    # one encoded column for city, not one per distinct price
    assert schema["features_out"] == ["sqft", "city"]
    assert train_x["city"].nunique() > 10  # a mean price per city, not a class probability


def test_an_integer_coded_class_stays_a_class():
    df = priced_table(classes=3)
    settings = {**SETTINGS, "drop": [], "max_categories": 20}
    _, train_x, _, schema = fit_transform(
        df.iloc[:300], df.iloc[300:].reset_index(drop=True), "price", settings, task="multiclass"
    )
    # one column per class (3), whatever the codes
    assert sorted(schema["features_out"]) == ["city_0", "city_1", "city_2", "sqft"]


def test_sparse_columns_are_kept_with_missing_indicators_and_empty_ones_left_out():
    import numpy as np

    df = priced_table()
    df["months_since_delinquent"] = np.where(np.arange(len(df)) % 3 == 0, np.arange(len(df)) % 40, np.nan)
    df["coapplicant"] = np.where(np.arange(len(df)) % 4 == 0, "yes", None)
    df["never"] = np.nan
    settings = {**SETTINGS, "drop": [], "max_categories": 20, "missing_indicators": True}
    train, test = df.iloc[:300], df.iloc[300:].reset_index(drop=True)
    _, train_x, test_x, schema = fit_transform(train, test, "price", settings, task="regression")
    assert "missingindicator_months_since_delinquent" in schema["features_out"]
    assert train_x["missingindicator_months_since_delinquent"].nunique() == 2  # 0/1, scaled
    assert {"coapplicant_missing", "coapplicant_yes"} <= set(schema["features_out"])
    assert "never" not in schema["columns"] and schema["kinds"]["never"]["kind"] == "empty"
    assert "no value" in schema["left_out"]["never"]
    assert not any("never" in name for name in schema["features_out"])
    off = {**settings, "missing_indicators": False}
    _, _, _, plain = fit_transform(train, test, "price", off, task="regression")
    assert not [name for name in plain["features_out"] if "missing" in name]


def test_whole_number_codes_are_numbers_and_codes():
    import numpy as np

    rng = np.random.default_rng(0)
    zips = rng.choice(np.arange(1000, 99999), 100, replace=False)
    bad = set(zips[:20])
    zip_code = rng.choice(zips, 2000)
    df = pd.DataFrame({"zip": zip_code, "x": rng.normal(size=2000)})
    df["churn"] = np.where(np.isin(zip_code, list(bad)), "yes", "no")
    settings = {**SETTINGS, "drop": [], "max_categories": 20}
    _, train_x, test_x, schema = fit_transform(
        df.iloc[:1500], df.iloc[1500:].reset_index(drop=True), "churn", settings, task="binary"
    )
    assert schema["kinds"]["zip"]["kind"] == "integer_code"
    assert schema["columns"]["zip"] == "numeric"  # clients send the same numbers as before
    assert schema["features_out"] == ["zip", "x", "code__zip"]
    # the code's encoding separates the bad zip codes, which the number alone cannot
    risky = test_x["code__zip"][df.iloc[1500:]["churn"].to_numpy() == "yes"]
    safe = test_x["code__zip"][df.iloc[1500:]["churn"].to_numpy() == "no"]
    assert risky.min() > safe.max()


def test_whole_numbers_whose_order_matters_stay_plain_numbers():
    """A delay in whole minutes repeats like a code, but the target follows its order: no code encoding, and the
    schema says why with both figures; a store number whose codes carry the signal keeps its encoding."""
    import numpy as np

    rng = np.random.default_rng(1)
    n = 3000
    delay = rng.integers(-20, 200, n)
    store = rng.integers(100, 160, n)
    effect = dict(zip(range(100, 160), rng.normal(0, 20, 60), strict=True))
    df = pd.DataFrame({"delay": delay, "store": store})
    df["arrival"] = delay + np.vectorize(effect.get)(store) + rng.normal(0, 5, n)
    settings = {**SETTINGS, "drop": [], "max_categories": 20}
    _, _, _, schema = fit_transform(df.iloc[:2400], df.iloc[2400:], "arrival", settings, seed=0, task="regression")
    assert schema["kinds"]["delay"]["kind"] == "numeric"
    assert "order explains the target as well as their codes" in schema["kinds"]["delay"]["reason"]
    assert schema["kinds"]["store"]["kind"] == "integer_code"
    assert schema["features_out"] == ["delay", "store", "code__store"]
