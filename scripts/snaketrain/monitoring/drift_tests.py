"""One column of current data against its reference profile, with the tests and defaults of Evidently.

The default test depends on the reference size and the number of distinct values, as in Evidently:
- at most EXACT_ROWS reference values: Kolmogorov-Smirnov for numbers (drift when p <= 0.05), chi-square for
  more than two values (p < 0.05), a Z-test of proportions for two (p < 0.05);
- more: Wasserstein distance normed by the reference's standard deviation (>= 0.1) for numbers, Jensen-Shannon
  distance (>= 0.1) for text and for numbers with at most five distinct values.
PSI (>= 0.1) is computed beside every test. Missing and infinite values are left out first, as Evidently does;
their share is reported beside. Pure functions: a profile column (dict) and a column of current data in.
"""

import math
import warnings
from functools import cached_property

import numpy as np
from scipy import stats
from scipy.spatial import distance

from snaketrain.monitoring.profile import EXACT_ROWS, FEW_VALUES, numeric_values, sketch_probabilities, text_counts

DEFAULT_THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}
# tests answering with a p-value: drift when it falls below the threshold (ks: at or below, as Evidently has it)
P_VALUE_TESTS = ("ks", "chisquare", "z")
NUMERIC_ONLY = ("ks", "wasserstein")
# equal bins of the current CDF over the reference's range when the reference is a sketch: the Wasserstein
# distance's error is then at most 2 * range / WASSERSTEIN_BINS (2e-4 standard deviations for a normal column)
WASSERSTEIN_BINS = 100_000


class Current:
    """A column of current data as the tests read it, missing values left out, each part computed once: count (the
    values left), values (the finite numbers, in their order; numeric columns) and counts ({value: count}). Text is
    counted at once, numbers only when a test for few values asks. Numbers are never sorted here: sorting a million
    of them costs more than all the default tests on them (equal-width histograms, which need no order)."""

    def __init__(self, series, kind):
        if kind == "numeric":
            self.values = numeric_values(series)
            self.count = len(self.values)
        else:
            self.values = None
            found = text_counts(series, sort=False)
            self.counts = {key: int(n) for key, n in found.items()}
            self.count = sum(self.counts.values())

    @cached_property
    def counts(self):
        # hashing (pandas) rather than np.unique (a sort)
        import pandas as pd

        found = pd.Series(self.values).value_counts(sort=False)
        return {float(key): int(n) for key, n in found.items()}


def current_values(series, kind):
    """The values the tests compare: finite numbers, or text counted; missing values left out."""
    return Current(series, kind)


def default_test(ref, current):
    """The test Evidently would choose for this column."""
    count = ref["count"]
    n_values = distinct_values(ref, current)
    if ref["kind"] == "numeric" and n_values > 5:
        return "ks" if count <= EXACT_ROWS else "wasserstein"
    if count <= EXACT_ROWS:
        return "chisquare" if n_values > 2 else "z"
    return "jensenshannon"


def distinct_values(ref, current):
    """Distinct values of reference and current together, as far as the choice of test needs them: more than
    FEW_VALUES when the reference alone has that many (the current values are then not counted: hashing a million
    numbers costs more than their tests) or the profile kept no counts."""
    if "counts" not in ref or ref.get("distinct", 0) > FEW_VALUES:
        return FEW_VALUES + 1
    return len({key for key, _ in ref["counts"]} | set(current.counts))


def ref_counts(ref):
    if "counts" in ref:
        return {key: n for key, n in ref["counts"]}
    if "values" not in ref:
        raise ValueError(
            f"the tests for categories need each value's count, and the profile keeps quantiles of this column's "
            f"{ref.get('distinct', 'many')} distinct values"
        )
    return dict(zip(*np.unique(ref["values"], return_counts=True), strict=True))


def _weighted(ref):
    """(sorted values, their counts) of a reference kept as values or counts."""
    if "counts" in ref:
        keys, counts = zip(*ref["counts"], strict=True)
        return np.asarray(keys, float), np.asarray(counts, np.int64)
    values = np.asarray(ref["values"], float)
    return values, np.ones(len(values), np.int64)


def _aligned(ref, current):
    """Reference and current counts over the union of their values (Evidently's order does not change the tests)."""
    ref_n, cur_n = ref_counts(ref), current.counts
    keys = sorted(set(ref_n) | set(cur_n), key=lambda k: (str(type(k)), k))
    return keys, np.array([ref_n.get(k, 0) for k in keys], float), np.array([cur_n.get(k, 0) for k in keys], float)


def chisquare_p(ref, current):
    _, ref_n, cur_n = _aligned(ref, current)
    expected = ref_n * (current.count / ref["count"])
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # a value new in current: expected 0, statistic inf, p 0 (as in Evidently)
        return float(stats.chisquare(cur_n, expected)[1])


def z_p(ref, current):
    keys, ref_n, cur_n = _aligned(ref, current)
    if len(keys) == 1:
        return 1.0
    # share of rows that are not the first value, in each sample (Evidently's two-sided proportions test)
    n1, n2 = ref["count"], current.count
    p1, p2 = 1 - ref_n[0] / n1, 1 - cur_n[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


def _sketch(ref):
    """(quantile points, their probabilities) of a reference kept as quantiles (equally spaced in format 1)."""
    q = np.asarray(ref["quantiles"], float)
    return q, sketch_probabilities(len(q)) if ref.get("spacing") == "cosine" else np.linspace(0, 1, len(q))


def reference_values(ref):
    """The reference's values: as kept (values, or each value as often as counted), or rebuilt from its quantiles
    with one value per rank (the reference CDF linear between the quantiles), so that scipy's tests see as many
    rows as the reference had."""
    if "quantiles" not in ref:
        return np.repeat(*_weighted(ref)) if "counts" in ref else np.asarray(ref["values"], float)
    q, grid = _sketch(ref)
    return np.interp(np.linspace(0, 1, ref["count"]), grid, q)


def reference_cdf(ref, points):
    """The reference's CDF at sorted points: linear between its quantiles, or the step function of its values."""
    if "quantiles" in ref:
        q, grid = _sketch(ref)
        return np.interp(points, q, grid, left=0.0, right=1.0)
    values, counts = _weighted(ref)
    below = np.concatenate([[0], np.cumsum(counts)])
    return below[values.searchsorted(points, "right")] / below[-1]


def ks_p(ref, current):
    # ks_2samp chooses its exact or asymptotic p-value from both sizes, as for the raw rows; it sorts both samples
    return float(stats.ks_2samp(reference_values(ref), current.values)[1])


def wasserstein_norm(ref, current):
    norm = max(ref["std"], 0.001)
    if "values" in ref:  # format 1: at most EXACT_ROWS values, scipy on them exactly
        return float(stats.wasserstein_distance(ref["values"], current.values)) / norm
    return float(binned_wasserstein(ref, current.values)) / norm


def binned_wasserstein(ref, values):
    """W1 = integral of |F_ref(x) - F_current(x)| dx without sorting the current values: exact outside the
    reference's range (F_ref is 0 or 1 there); inside it, the trapezoid rule on WASSERSTEIN_BINS equal bins,
    F_current at each edge from an equal-width histogram (no sort), F_ref from the profile (reference_cdf). Each
    bin's error is at most its width times the share of either sample in it."""
    low, high = ref["min"], ref["max"]
    below, above = values[values < low], values[values > high]
    outside = float((low - below).sum() + (above - high).sum())
    if high == low:
        return outside / len(values)
    counts = np.histogram(values, WASSERSTEIN_BINS, (low, high))[0]
    cur_cdf = (len(below) + np.concatenate([[0], np.cumsum(counts)])) / len(values)
    gap = np.abs(reference_cdf(ref, np.linspace(low, high, WASSERSTEIN_BINS + 1)) - cur_cdf)
    width = (high - low) / WASSERSTEIN_BINS
    return outside / len(values) + float((gap[:-1] + gap[1:]).sum()) / 2 * width


def sturges_edges(low, high, n):
    """np.histogram_bin_edges(values, bins="sturges") from the values' min, max and count."""
    if low == high:
        low, high = low - 0.5, high + 0.5
        return np.linspace(low, high, 2)
    width = (high - low) / (np.log2(n) + 1.0)
    return np.linspace(low, high, int(np.ceil((high - low) / width)) + 1)


def binned(ref, current, fill_zeroes=True):
    """Shares of reference and current per bin: numbers with more than FEW_VALUES distinct reference values
    in Sturges bins over both, everything else per value (Evidently's get_binned_data)."""
    if ref["kind"] == "numeric" and ref.get("distinct", 0) > FEW_VALUES:
        values = current.values
        edges = sturges_edges(
            min(ref["min"], values.min()), max(ref["max"], values.max()), ref["count"] + current.count
        )
        if "quantiles" not in ref:
            kept, counts = _weighted(ref)
            ref_share = np.histogram(kept, edges, weights=counts)[0] / ref["count"]
        else:
            q, grid = _sketch(ref)
            cdf = np.interp(edges, q, grid, left=0.0, right=1.0)
            cdf[-1] = 1.0
            ref_share = np.diff(cdf)
        # equal-width bins given by their number and range: np.histogram's path without a sort, and its counts
        # are those of the same edges given as an array (it corrects each index against the edges)
        cur_share = np.histogram(values, len(edges) - 1, (edges[0], edges[-1]))[0] / current.count
        labels = edges
    else:
        labels, ref_n, cur_n = _aligned(ref, current)
        ref_share, cur_share = ref_n / ref["count"], cur_n / current.count
    if fill_zeroes:
        ref_share, cur_share = _filled(ref_share), _filled(cur_share)
    return labels, ref_share, cur_share


def _filled(share):
    share = share.copy()
    smallest = share[share != 0].min() if np.any(share != 0) else 1.0
    share[share == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return share


def jensenshannon(ref, current):
    _, ref_share, cur_share = binned(ref, current, fill_zeroes=False)
    return float(distance.jensenshannon(ref_share, cur_share))


def psi(ref, current):
    _, ref_share, cur_share = binned(ref, current)
    return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))


TESTS = {
    "ks": ks_p,
    "chisquare": chisquare_p,
    "z": z_p,
    "wasserstein": wasserstein_norm,
    "jensenshannon": jensenshannon,
    "psi": psi,
}


def is_drift(test, statistic, threshold):
    if statistic is None or math.isnan(statistic):
        return False  # as Evidently: a test that cannot answer (a constant column) reports no drift
    if test == "ks":
        return statistic <= threshold
    if test in P_VALUE_TESTS:
        return statistic < threshold
    return statistic >= threshold


def column_drift(ref, series, test=None, threshold=None, thresholds=DEFAULT_THRESHOLDS):
    """The verdict on one column: {test, statistic, threshold, drifted, psi, missing: {reference, current}}.

    test and threshold override the defaults (config: monitoring.columns.<name>); thresholds maps each test to
    its default threshold (monitoring.thresholds)."""
    current = current_values(series, ref["kind"])
    rows = len(series)
    result = {
        "kind": ref["kind"],
        "missing": {"reference": ref["missing"], "current": round((rows - current.count) / rows, 6) if rows else 0.0},
    }
    if ref["count"] == 0:
        return {**result, "test": None, "statistic": None, "threshold": None, "drifted": False, "tested": False}
    if current.count == 0:
        # every current value missing where the reference had values: nothing to compare, and clearly moved
        return {**result, "test": "missing", "statistic": 1.0, "threshold": None, "drifted": True, "tested": True}
    test = test or default_test(ref, current)
    if test in NUMERIC_ONLY and ref["kind"] != "numeric":
        raise ValueError(f"the {test} test needs a numeric column, and this one holds text")
    threshold = thresholds[test] if threshold is None else threshold
    statistic = TESTS[test](ref, current)
    return {
        **result,
        "test": test,
        "statistic": _rounded(statistic),
        "threshold": threshold,
        "drifted": is_drift(test, statistic, threshold),
        "psi": _rounded(psi(ref, current)),
        "tested": True,
    }


def _rounded(value):
    # JSON has no NaN; a test that cannot answer is null
    return None if value is None or not math.isfinite(value) else float(value)
