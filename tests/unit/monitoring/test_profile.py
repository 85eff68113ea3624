"""Reference profiles: what they keep of each column, and refusing damaged ones."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from snaketrain.monitoring.drift_tests import column_drift
from snaketrain.monitoring.profile import SKETCH_POINTS, ProfileError, build_profile, check_profile
from tests.tables import mixed_frame

KINDS = {"x": "numeric", "noise": "numeric", "colour": "categorical"}


def test_a_small_training_part_keeps_its_values_missing_share_and_category_counts():
    df = mixed_frame(100)  # 86 values of x: kept with their counts, exactly
    profile = build_profile(df, KINDS, "y", "binary", predictions=df["y"])
    x = profile["columns"]["x"]
    present = df["x"].dropna()
    assert x["kind"] == "numeric" and x["count"] == len(present) and x["rows"] == 100
    assert x["missing"] == pytest.approx(df["x"].isna().mean(), abs=1e-6)
    assert x["std"] == pytest.approx(np.std(present))
    # every value once, to 6 significant digits of the range (the ends exactly)
    kept, counts = zip(*x["counts"], strict=True)
    assert set(counts) == {1} and kept[0] == present.min() and kept[-1] == present.max()
    assert np.max(np.abs(np.array(kept) - np.sort(present))) <= 5e-6 * (present.max() - present.min())
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
    assert "counts" not in x and len(x["quantiles"]) == SKETCH_POINTS and x["spacing"] == "cosine"
    assert x["quantiles"][0] == x["min"] and x["quantiles"][-1] == x["max"]
    assert x["quantiles"] == sorted(x["quantiles"])
    # each quantile to 6 significant digits of the range
    exact = np.quantile(df["x"], (1 - np.cos(np.pi * np.arange(SKETCH_POINTS) / (SKETCH_POINTS - 1))) / 2)
    assert np.max(np.abs(np.array(x["quantiles"]) - exact)) <= 5e-6 * (x["max"] - x["min"])
    assert sum(n for _, n in profile["columns"]["k"]["counts"]) == 50_000
    assert len(json.dumps(profile, separators=(",", ":"))) < 5_000


def wide_table(rows, seed=0):
    """30 columns as users bring them: full-precision floats on several scales (a timestamp-like one among them),
    integers with many values, few-valued numbers, text of a few and of a hundred levels, missing values."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"normal{i}": rng.normal(i, 1 + i, rows) for i in range(10)})
    for i in range(6):
        df[f"skewed{i}"] = rng.lognormal(i, 1.5, rows)
    df["timestamp"] = 1.7e9 + rng.uniform(0, 3e7, rows)
    df["tiny"] = rng.normal(0, 1e-9, rows)
    for i in range(4):
        df[f"count{i}"] = rng.poisson(10**i, rows).astype(float)
    df["age"] = rng.integers(18, 90, rows).astype(float)
    df["flag"] = rng.choice([0.0, 1.0], rows)
    df["rating"] = rng.integers(1, 6, rows).astype(float)
    for i, levels in enumerate((3, 8, 30, 100, 100)):
        df[f"text{i}"] = rng.choice([f"level-{k}" for k in range(levels)], rows)
    df.loc[rng.random(rows) < 0.1, ["normal1", "skewed2", "text3"]] = np.nan
    return df


def test_a_30_column_profile_is_kilobytes_whatever_the_rows():
    df = wide_table(50_000)
    assert df.shape == (50_000, 30)
    kinds = {c: "categorical" if c.startswith("text") else "numeric" for c in df.columns}
    rng = np.random.default_rng(1)
    profile = build_profile(df, kinds, "y", "binary", predictions=rng.choice(["yes", "no"], 50_000))
    size = len(json.dumps(profile, sort_keys=True, separators=(",", ":")))  # as reference.write_profile writes it
    assert size < 50_000, f"{size} bytes"
    # the same bound on a tenth of the rows (the size does not grow with them)
    assert len(json.dumps(build_profile(df.iloc[:5000], kinds, "y", "binary"), separators=(",", ":"))) < 50_000


def test_a_profile_of_format_1_is_still_read():
    # versions registered before format 2 kept up to 1000 values as they are, more as 201 equally spaced quantiles
    rng = np.random.default_rng(2)
    small, large = rng.normal(size=400), rng.normal(size=5000)
    quantiles = np.quantile(large, np.linspace(0, 1, 201)).tolist()
    base = {"kind": "numeric", "missing": 0.0, "distinct": 400}
    old = {
        "format": 1,
        "rows": 400,
        "target": "y",
        "task": "binary",
        "columns": {
            "small": {**base, "rows": 400, "count": 400, "values": sorted(small.tolist()), "std": float(np.std(small))},
            "large": {**base, "rows": 5000, "count": 5000, "quantiles": quantiles, "std": float(np.std(large))},
        },
    }
    for name in ("small", "large"):
        old["columns"][name].update(min=float(np.min(small if name == "small" else large)))
        old["columns"][name].update(max=float(np.max(small if name == "small" else large)))
    check_profile(old)
    current = rng.normal(size=300)
    small_ks = column_drift(old["columns"]["small"], pd.Series(current))
    assert small_ks["test"] == "ks" and small_ks["statistic"] == pytest.approx(stats.ks_2samp(small, current).pvalue)
    large_w = column_drift(old["columns"]["large"], pd.Series(current))
    exact = stats.wasserstein_distance(large, current) / np.std(large)
    assert large_w["test"] == "wasserstein" and large_w["statistic"] == pytest.approx(exact, abs=0.02)


def test_a_profile_is_the_same_bytes_for_the_same_rows():
    df = mixed_frame(120)
    assert json.dumps(build_profile(df, KINDS, "y", "binary")) == json.dumps(
        build_profile(df.copy(), KINDS, "y", "binary")
    )


@pytest.mark.parametrize(
    "damage",
    [lambda p: p.pop("columns"), lambda p: p["columns"]["x"].pop("quantiles"), lambda p: p.update(format=99)],
)
def test_a_damaged_profile_is_refused(damage):
    profile = build_profile(mixed_frame(120), KINDS, "y", "binary")
    damage(profile)
    with pytest.raises(ProfileError):
        check_profile(profile)
