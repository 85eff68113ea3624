"""Each test's verdict on constructed shifts, none on resamples, and the same numbers as scipy on raw rows."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from snaketrain.monitoring.drift_tests import (
    binned_wasserstein,
    column_drift,
    current_values,
    default_test,
    reference_values,
)
from snaketrain.monitoring.profile import build_profile, sketch_probabilities


def profiled(series, kind="numeric"):
    return build_profile(pd.DataFrame({"c": series}), {"c": kind}, "y", "binary")["columns"]["c"]


rng = np.random.default_rng(3)  # a seed whose resamples stay under every threshold (each has a 5 % chance not to)
SMALL, LARGE = rng.normal(size=800), rng.normal(size=20_000)
CITIES = np.array(["paris", "oslo", "rome"])


@pytest.mark.parametrize(
    ("reference", "kind", "resample", "shifted", "test"),
    [
        (SMALL, "numeric", rng.normal(size=800), rng.normal(0.4, 1, 800), "ks"),
        (LARGE, "numeric", rng.normal(size=20_000), rng.normal(0.3, 1, 20_000), "wasserstein"),
        (
            rng.choice(CITIES, 800),
            "categorical",
            rng.choice(CITIES, 800),
            rng.choice(CITIES, 800, p=[0.6, 0.2, 0.2]),
            "chisquare",
        ),
        (
            rng.choice(CITIES, 5000),
            "categorical",
            rng.choice(CITIES, 5000),
            rng.choice([*CITIES, "NEW"], 5000),
            "jensenshannon",
        ),
        (
            rng.choice(["a", "b"], 800),
            "categorical",
            rng.choice(["a", "b"], 800),
            rng.choice(["a", "b"], 800, p=[0.7, 0.3]),
            "z",
        ),
    ],
)
def test_the_default_test_sees_a_shift_and_not_a_resample(reference, kind, resample, shifted, test):
    ref = profiled(pd.Series(reference), kind)
    same = column_drift(ref, pd.Series(resample))
    moved = column_drift(ref, pd.Series(shifted))
    assert same["test"] == moved["test"] == test
    assert not same["drifted"] and moved["drifted"]
    assert moved["psi"] is not None


def test_a_reference_kept_as_counts_gives_scipys_numbers_on_the_raw_rows():
    reference = np.round(SMALL, 1)  # 800 rows of about 60 distinct values, ties included: kept exactly
    ref = profiled(pd.Series(reference))
    assert "counts" in ref
    current = np.round(rng.normal(0.1, 1, 500), 1)
    ks = column_drift(ref, pd.Series(current))
    assert ks["test"] == "ks" and ks["statistic"] == pytest.approx(stats.ks_2samp(reference, current).pvalue)
    result = column_drift(ref, pd.Series(current), test="wasserstein")  # from histograms: within their bins' width
    exact = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert result["statistic"] == pytest.approx(exact, rel=1e-4)


def test_ks_on_a_sketch_is_close_to_scipys_on_the_raw_rows():
    ref = profiled(pd.Series(SMALL))
    assert "quantiles" in ref and ref["count"] == 800
    for shift in (0.0, 0.1, 0.2):
        current = rng.normal(shift, 1, 500)
        exact = stats.ks_2samp(SMALL, current)
        rebuilt = stats.ks_2samp(reference_values(ref), current)
        assert rebuilt.statistic == pytest.approx(exact.statistic, abs=0.01)
        assert column_drift(ref, pd.Series(current))["statistic"] == pytest.approx(rebuilt.pvalue)


def test_a_quantile_sketch_is_close_to_the_exact_distance():
    current = rng.normal(0.15, 1.1, 30_000)
    exact = stats.wasserstein_distance(LARGE, current) / np.std(LARGE)
    assert column_drift(profiled(pd.Series(LARGE)), pd.Series(current))["statistic"] == pytest.approx(exact, rel=0.02)


def test_few_valued_numbers_use_the_tests_for_categories():
    ref = profiled(pd.Series(rng.choice([0.0, 1.0, 2.0], 500)))
    assert default_test(ref, current_values(pd.Series([0.0, 1.0]), "numeric")) == "chisquare"


def test_missing_values_are_left_out_and_reported_beside():
    ref = profiled(pd.Series(SMALL))
    current = pd.Series(np.where(rng.random(800) < 0.4, np.nan, rng.normal(size=800)))
    result = column_drift(ref, current)
    assert not result["drifted"] and result["missing"]["current"] == pytest.approx(current.isna().mean(), abs=1e-6)
    everything_missing = column_drift(ref, pd.Series([np.nan] * 10))
    assert everything_missing["drifted"] and everything_missing["test"] == "missing"


def test_a_configured_test_and_threshold_replace_the_defaults():
    ref = profiled(pd.Series(SMALL))
    current = pd.Series(rng.normal(0.05, 1, 800))
    strict = column_drift(ref, current, test="wasserstein", threshold=0.01)
    assert strict["test"] == "wasserstein" and strict["threshold"] == 0.01 and strict["drifted"]
    with pytest.raises(ValueError, match="numeric"):
        column_drift(profiled(pd.Series(["a", "b"] * 50), "categorical"), pd.Series(["a"] * 10), test="ks")


def quantile_function_distance(ref, current, points=1_000_000):
    """W1 as the integral of |Q_ref(u) - Q_current(u)| on a fine grid: the sketch's distance, computed by sorting."""
    q = np.asarray(ref["quantiles"])
    u = (np.arange(points) + 0.5) / points
    ordered = np.sort(current)
    quantiles = np.interp(u, sketch_probabilities(len(q)), q)
    return float(np.mean(np.abs(quantiles - ordered[(u * len(ordered)).astype(int)])))


@pytest.mark.parametrize(
    "current",
    [
        rng.normal(0.2, 1.3, 50_000),  # partly outside the reference's range
        np.concatenate([rng.normal(size=49_990), [1e6] * 10]),  # a few huge values: the tails are exact
        rng.lognormal(0, 1.5, 50_000),  # most values in a small part of the range
    ],
)
def test_the_distance_without_a_sort_is_the_quantile_functions_distance(current):
    ref = profiled(pd.Series(LARGE))
    assert binned_wasserstein(ref, current) == pytest.approx(quantile_function_distance(ref, current), rel=1e-3)
    constant = profiled(pd.Series(np.full(5000, 2.0)))
    assert binned_wasserstein(constant, current) == pytest.approx(np.mean(np.abs(current - 2.0)))
    counted = profiled(pd.Series(np.round(LARGE)))  # a step-function CDF
    exact = stats.wasserstein_distance(np.round(LARGE), current)
    assert binned_wasserstein(counted, current) == pytest.approx(exact, rel=1e-3)


def test_a_skewed_column_does_not_drift_from_its_own_resample():
    # equally spaced quantiles put the last 0.5 % of a lognormal column on a straight line up to its maximum, and
    # its Wasserstein distance to a resample came out near the threshold (0.09 where the raw rows give 0.004)
    reference, current = rng.lognormal(0, 1, 200_000), rng.lognormal(0, 1, 100_000)
    exact = stats.wasserstein_distance(reference, current) / np.std(reference)
    result = column_drift(profiled(pd.Series(reference)), pd.Series(current))
    assert result["test"] == "wasserstein" and not result["drifted"]
    assert result["statistic"] == pytest.approx(exact, abs=0.005)
