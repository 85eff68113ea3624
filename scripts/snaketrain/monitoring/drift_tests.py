"""One column of current data against its reference profile, with the tests and defaults of Evidently.

The default test depends on the reference size and the number of distinct values, as in Evidently:
- at most EXACT_ROWS reference values: Kolmogorov-Smirnov for numbers (drift when p <= 0.05), chi-square for
  more than two values (p < 0.05), a Z-test of proportions for two (p < 0.05);
- more: Wasserstein distance normed by the reference's standard deviation (>= 0.1) for numbers, Jensen-Shannon
  distance (>= 0.1) for text and for numbers with at most five distinct values.
PSI (>= 0.1) is computed beside every test. Missing and infinite values are left out first, as Evidently does;
their share is reported beside. Pure functions: a profile column (dict) and an array of current values in.
"""

import math
import warnings
from functools import cached_property

import numpy as np
from scipy import stats
from scipy.spatial import distance

from snaketrain.monitoring.profile import EXACT_ROWS, FEW_VALUES, numeric_values, text_counts

DEFAULT_THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}
# tests answering with a p-value: drift when it falls below the threshold (ks: at or below, as Evidently has it)
P_VALUE_TESTS = ("ks", "chisquare", "z")
NUMERIC_ONLY = ("ks", "wasserstein")
WASSERSTEIN_GRID = 20000  # points of the quantile-function integral when the reference is a sketch


class Current:
    """A column of current data as the tests read it, missing values left out, each part computed once: count (the
    values left), sorted (the finite numbers sorted; numeric columns) and counts ({value: count}; text is counted
    at once, numbers only when a test for few values asks, since most numeric columns never need it)."""

    def __init__(self, series, kind):
        if kind == "numeric":
            self.sorted = np.sort(numeric_values(series))
            self.count = len(self.sorted)
        else:
            self.sorted = None
            found = text_counts(series, sort=False)
            self.counts = {key: int(n) for key, n in found.items()}
            self.count = sum(self.counts.values())

    @cached_property
    def counts(self):
        # hashing (pandas) rather than np.unique (a second sort)
        import pandas as pd

        found = pd.Series(self.sorted).value_counts(sort=False)
        return {float(key): int(n) for key, n in found.items()}


def current_values(series, kind):
    """The values the tests compare: finite numbers sorted, or text counted; missing values left out."""
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
    """Distinct values of reference and current together (more than FEW_VALUES when the profile kept no counts)."""
    if "counts" not in ref:
        return FEW_VALUES + 1
    return len({key for key, _ in ref["counts"]} | set(current.counts))


def ref_counts(ref):
    if "counts" in ref:
        return {key: n for key, n in ref["counts"]}
    return dict(zip(*np.unique(ref["values"], return_counts=True), strict=True))


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
    """(quantile points, their probabilities) of a reference kept as quantiles."""
    q = np.asarray(ref["quantiles"], float)
    return q, np.linspace(0, 1, len(q))


def ks_p(ref, current):
    current = current.sorted
    if "values" in ref:
        return float(stats.ks_2samp(ref["values"], current)[1])
    # the largest gap between the reference CDF (linear between its quantiles) and the current one, and
    # the asymptotic p-value that ks_2samp uses for large samples
    q, grid = _sketch(ref)
    m = len(current)
    ref_cdf = np.interp(current, q, grid, left=0.0, right=1.0)
    steps = np.arange(1, m + 1) / m
    gap = max(np.max(np.abs(ref_cdf - steps)), np.max(np.abs(ref_cdf - steps + 1 / m)))
    gap = max(gap, np.max(np.abs(grid - np.searchsorted(current, q, "right") / m)))
    n = ref["count"]
    return float(stats.kstwo.sf(gap, round(n * m / (n + m))))


def wasserstein_norm(ref, current):
    norm = max(ref["std"], 0.001)
    current = current.sorted
    if "values" in ref:
        return float(stats.wasserstein_distance(ref["values"], current)) / norm
    # W1 = integral over u of |Q_ref(u) - Q_current(u)|, on a grid of midpoints
    q, grid = _sketch(ref)
    u = (np.arange(WASSERSTEIN_GRID) + 0.5) / WASSERSTEIN_GRID
    cur_q = current[np.minimum((u * len(current)).astype(np.int64), len(current) - 1)]
    return float(np.mean(np.abs(np.interp(u, grid, q) - cur_q))) / norm


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
        values = current.sorted
        edges = sturges_edges(min(ref["min"], values[0]), max(ref["max"], values[-1]), ref["count"] + current.count)
        if "values" in ref:
            ref_share = np.histogram(ref["values"], edges)[0] / ref["count"]
        else:
            q, grid = _sketch(ref)
            cdf = np.interp(edges, q, grid, left=0.0, right=1.0)
            cdf[-1] = 1.0
            ref_share = np.diff(cdf)
        cur_share = sorted_histogram(values, edges) / current.count
        labels = edges
    else:
        labels, ref_n, cur_n = _aligned(ref, current)
        ref_share, cur_share = ref_n / ref["count"], cur_n / current.count
    if fill_zeroes:
        ref_share, cur_share = _filled(ref_share), _filled(cur_share)
    return labels, ref_share, cur_share


def sorted_histogram(values, edges):
    """np.histogram(values, edges)[0] for values already sorted: np.histogram sorts its input again (in blocks),
    which cost more than the tests themselves on a million rows. The same bins: half-open, the last one closed."""
    ends = np.concatenate([values.searchsorted(edges[:-1], "left"), values.searchsorted(edges[-1:], "right")])
    return np.diff(ends)


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
