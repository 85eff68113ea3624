"""Reference profiles: what they keep of each column, and refusing damaged ones."""

import json

import numpy as np
import pandas as pd
import pytest

from snaketrain.monitoring.profile import EXACT_ROWS, QUANTILES, ProfileError, build_profile, check_profile
from tests.tables import mixed_frame

KINDS = {"x": "numeric", "noise": "numeric", "colour": "categorical"}


def test_a_small_training_part_keeps_its_values_missing_share_and_category_counts():
    df = mixed_frame(120)
    profile = build_profile(df, KINDS, "y", "binary", predictions=df["y"])
    x = profile["columns"]["x"]
    present = df["x"].dropna()
    assert x["kind"] == "numeric" and x["count"] == len(present) and x["rows"] == 120
    assert x["missing"] == pytest.approx(df["x"].isna().mean(), abs=1e-6)
    assert x["values"] == sorted(present.tolist()) and x["std"] == pytest.approx(np.std(present))
    colour = profile["columns"]["colour"]
    assert dict(colour["counts"]) == df["colour"].value_counts().to_dict()
    assert colour["missing"] == pytest.approx(df["colour"].isna().mean(), abs=1e-6)
    assert dict(profile["prediction"]["counts"]) == df["y"].value_counts().to_dict()
    assert profile["target"] == "y" and profile["task"] == "binary"
    assert json.loads(json.dumps(profile)) == profile  # JSON as it is, no NaN


def test_a_large_training_part_keeps_quantiles_and_stays_small():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=50_000), "k": rng.integers(0, 4, 50_000).astype(float)})
    profile = build_profile(df, {"x": "numeric", "k": "numeric"}, "y", "regression")
    x = profile["columns"]["x"]
    assert "values" not in x and len(x["quantiles"]) == QUANTILES + 1 and x["count"] > EXACT_ROWS
    assert x["quantiles"][0] == x["min"] and x["quantiles"][-1] == x["max"]
    assert dict(profile["columns"]["k"]["counts"]) == {0.0: 12_500, 1.0: 12_500, 2.0: 12_500, 3.0: 12_500} or (
        sum(n for _, n in profile["columns"]["k"]["counts"]) == 50_000
    )
    assert len(json.dumps(profile, separators=(",", ":"))) < 50_000


def test_a_profile_is_the_same_bytes_for_the_same_rows():
    df = mixed_frame(120)
    assert json.dumps(build_profile(df, KINDS, "y", "binary")) == json.dumps(
        build_profile(df.copy(), KINDS, "y", "binary")
    )


@pytest.mark.parametrize(
    "damage",
    [lambda p: p.pop("columns"), lambda p: p["columns"]["x"].pop("values"), lambda p: p.update(format=99)],
)
def test_a_damaged_profile_is_refused(damage):
    profile = build_profile(mixed_frame(120), KINDS, "y", "binary")
    damage(profile)
    with pytest.raises(ProfileError):
        check_profile(profile)
