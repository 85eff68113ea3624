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
