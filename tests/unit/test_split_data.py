"""The split_data stage: a seeded, stratified train/test split."""

import numpy as np
import pandas as pd

from snaketrain.split_data import split


def frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 100, size=n),
            "city": rng.choice(["paris", "oslo", "rome"], size=n),
            "label": np.tile(["yes", "no"], n // 2),
        }
    )


def test_split_is_stratified_and_seeded():
    df = frame(n=100)
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) == 80 and len(test) == 20
    assert test["label"].value_counts().to_dict() == {"yes": 10, "no": 10}
    again, _ = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    pd.testing.assert_frame_equal(train, again)


def test_split_drops_rows_without_target():
    df = frame(n=100)
    df.loc[:9, "label"] = None
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) + len(test) == 90
