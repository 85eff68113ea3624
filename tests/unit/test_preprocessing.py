"""The fitted preprocessor applied to new rows, as inference does."""

import numpy as np
import pandas as pd

from snaketrain.build_features import fit_transform
from snaketrain.preprocessing import transform

SETTINGS = {"drop": ["id"], "numeric_imputer": "median", "scale": True, "max_categories": 3}


def mixed_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "x": x,
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue", "cyan", "pink"], size=n),
            "y": np.where(x > 0, "pos", "neg"),
        }
    )
    df.loc[::7, "x"] = np.nan
    df.loc[::5, "colour"] = None
    return df


def test_unseen_category_is_accepted_at_predict_time():
    df = mixed_frame()
    pre, _, _, schema = fit_transform(df, df, "y", SETTINGS)
    new = df.head(3).copy()
    new["colour"] = "ultraviolet"
    assert len(transform(pre, new, schema)) == 3
