"""The fitted preprocessor applied to new rows, as inference does."""

import pandas as pd

from snaketrain.preprocessing import transform
from snaketrain.stages.build_features import fit_transform
from tests.tables import mixed_frame

SETTINGS = {"drop": ["id"], "numeric_imputer": "median", "scale": True, "max_categories": 3}


def test_unseen_category_is_accepted_at_predict_time():
    df = mixed_frame()
    pre, _, _, schema = fit_transform(df, df, "y", SETTINGS)
    new = df.head(3).copy()
    new["colour"] = "ultraviolet"
    assert len(transform(pre, new, schema)) == 3


def test_categorical_values_reach_the_encoder_as_text_whatever_the_reader_chose():
    from snaketrain.preprocessing import as_text

    as_ints = pd.DataFrame({"zip": [75001, 75002, None], "x": [1.0, 2.0, 3.0]})
    as_strings = pd.DataFrame({"zip": ["75001", "75002", None], "x": [1.0, 2.0, 3.0]})
    for frame in (as_ints.astype({"zip": "Int64"}), as_strings):
        values = as_text(frame, ["zip"])["zip"]
        assert values.iloc[:2].tolist() == ["75001", "75002"] and values.isna().tolist() == [False, False, True]
    assert as_text(as_ints, [])["x"].tolist() == [1.0, 2.0, 3.0]


def test_dates_codes_and_free_text_become_features_that_load_safely(tmp_path):
    from snaketrain.registry.inference import TRUSTED_TYPES, read_pipeline, save_pipeline
    from snaketrain.stages.build_features import fit_transform
    from tests.tables import CUSTOMER_KINDS, customer_table

    table = customer_table(n=600)
    settings = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20}
    preprocessor, train_x, _, schema = fit_transform(table, table, "churned", settings)
    kinds = {column: kind["kind"] for column, kind in schema["kinds"].items()}
    assert kinds == CUSTOMER_KINDS
    assert "customer_id" not in schema["columns"] and schema["left_out"]["customer_id"]
    assert {"signup_month", "signup_weekday", "signup_days", "zip", "text_comment__cancel"} <= set(train_x.columns)
    assert train_x["signup_month"].nunique() == 12  # scaled, like every number
    save_pipeline(preprocessor, tmp_path / "pre.skops", TRUSTED_TYPES)
    loaded = read_pipeline(tmp_path / "pre.skops")
    rows = table.drop(columns=["churned", "customer_id"]).head(5)
    assert (loaded.transform(rows).to_numpy() == preprocessor.transform(rows).to_numpy()).all()
