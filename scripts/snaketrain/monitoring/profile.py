"""Reference profiles: what a version's training part looked like, small enough to keep inside the version.

Per column: its kind, missing fraction, mean and standard deviation, and enough of its distribution for the
drift tests. The drift tests of Evidently work on raw rows; a profile keeps a bounded amount per column, so that it
stays kilobytes whatever the number of rows (about 1 KB per numeric column):
- a numeric column with at most SKETCH_POINTS distinct values keeps each value's count: its distribution, ties
  included (the tests then read it as the raw rows); with more than FEW_VALUES of them, each value to SIGNIFICANT
  digits of the column's range (short decimals such as 17.99 and integers stay exact);
- above that, SKETCH_POINTS quantiles at cosine-spaced probabilities, dense at both ends, each to SIGNIFICANT
  digits of the column's range: a column's tails weigh most in the Wasserstein distance, and with equally spaced
  probabilities the stretch from the last quantile to the maximum made a skewed column look drifted against its
  own resample (bench/README.md, "Drift check"). KS reads values rebuilt from them (one per rank, the reference
  CDF linear between quantiles): its p-value is then approximate (docs/guarantees.md, "Drift");
- text columns keep their value counts (the MAX_CATEGORIES most frequent).
Predictions of the model on the training part are profiled the same way, as one more column.
"""

import math

import numpy as np
import pandas as pd

FORMAT = 2  # 1: up to EXACT_ROWS values kept, above that 201 quantiles at equally spaced probabilities
READABLE_FORMATS = (1, 2)  # versions registered with format 1 keep their profile, and the tests read it
EXACT_ROWS = 1000  # Evidently switches from tests for small references to tests for large ones here
SKETCH_POINTS = 101
SIGNIFICANT = 6  # a stored quantile or value is at most 5e-6 of its column's range away from the exact one
FEW_VALUES = 20  # Evidently bins numeric columns with more distinct reference values than this
MAX_CATEGORIES = 1000  # text columns keep this many most frequent values; the rest is counted as OTHER
OTHER = "\0other"


class ProfileError(ValueError):
    """A profile that lacks what the tests need (damaged, or written by something else)."""


def numeric_values(series):
    """The finite values of a column as float64 (missing and infinite values dropped, as Evidently does)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def text_values(series):
    """The non-missing values of a column as text (as the model's preprocessing reads categories)."""
    present = series[series.notna()]
    return present.astype(str)


def text_counts(series, sort=True):
    """How often each non-missing value occurs, keyed by its text (a Series; most frequent first when sort).

    Where equal values always have equal text (strings, integers, booleans), the values are counted first and only
    the distinct ones turned into text: on a million strings that is tens of milliseconds instead of the second that
    turning every value into text takes. Other columns (floats, mixed objects, where 1 and 1.0 count as one value
    but read as two texts) are turned into text first, as text_values does."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or dtype.kind in "iub":
        found = series.value_counts(sort=sort)
        found.index = found.index.astype(str)
        return found
    return text_values(series).value_counts(sort=sort)


def sketch_probabilities(points):
    """The probabilities of a sketch's quantiles: cosine-spaced from 0 to 1, closest together at both ends."""
    return (1 - np.cos(np.pi * np.arange(points) / (points - 1))) / 2


def stored_points(points, low, high):
    """Sorted numbers as the profile keeps them: to SIGNIFICANT digits of the range low..high (rounding keeps their
    order), the ends exactly low and high."""
    if high == low:
        return [float(low)] * len(points)
    if not math.isfinite(high - low):  # a range beyond float64 (values near +-1.8e308): kept as they are
        return [float(point) for point in points]
    decimals = SIGNIFICANT - 1 - math.floor(math.log10(high - low))
    kept = np.clip([round(float(point), decimals) for point in points], low, high).tolist()
    kept[0], kept[-1] = float(low), float(high)
    return kept


def rounded_counts(counts, low, high):
    """[[value, count], ...] of sorted numbers with each value as stored_points keeps it (values that round alike,
    closer than the rounding, are counted together)."""
    merged = []
    for value, (_, n) in zip(stored_points([key for key, _ in counts], low, high), counts, strict=True):
        if merged and merged[-1][0] == value:
            merged[-1][1] += n
        else:
            merged.append([value, n])
    return merged


def counts_of(values):
    """[[value, count], ...] sorted by value; values are numbers or text."""
    found = pd.Series(values).value_counts(sort=False)
    return sorted(
        ([key.item() if hasattr(key, "item") else key, int(n)] for key, n in found.items()), key=lambda p: p[0]
    )


def numeric_profile(series):
    values = numeric_values(series)
    count = len(values)
    column = {"kind": "numeric", "rows": len(series), "count": count, "missing": _missing(len(series), count)}
    if count == 0:
        return column
    ordered = np.sort(values)
    column.update(mean=float(ordered.mean()), std=float(ordered.std()), min=float(ordered[0]), max=float(ordered[-1]))
    distinct = np.unique(ordered)
    column["distinct"] = len(distinct)
    if len(distinct) <= FEW_VALUES:
        column["counts"] = counts_of(ordered)  # the values exactly: the tests for categories match them
    elif len(distinct) <= SKETCH_POINTS:
        column["counts"] = rounded_counts(counts_of(ordered), column["min"], column["max"])
    else:
        quantiles = np.quantile(ordered, sketch_probabilities(SKETCH_POINTS))
        column["quantiles"] = stored_points(quantiles, column["min"], column["max"])
        column["spacing"] = "cosine"
    return column


def text_profile(series):
    found = text_counts(series)
    count = int(found.sum())
    kept = found.iloc[:MAX_CATEGORIES]
    counts = sorted([str(key), int(n)] for key, n in kept.items())
    if len(found) > len(kept):
        counts.append([OTHER, int(found.iloc[MAX_CATEGORIES:].sum())])
    return {
        "kind": "text",
        "rows": len(series),
        "count": count,
        "missing": _missing(len(series), count),
        "distinct": len(found),
        "counts": counts,
    }


def _missing(rows, count):
    return round((rows - count) / rows, 6) if rows else 0.0


def column_profile(series, kind):
    return numeric_profile(series) if kind == "numeric" else text_profile(series)


def build_profile(train, columns, target, task, predictions=None):
    """The reference profile of a training part: columns is {name: "numeric" | "categorical"} (the input schema's);
    predictions, the model's answers on those rows (labels, or numbers for regression)."""
    profile = {
        "format": FORMAT,
        "rows": len(train),
        "target": target,
        "task": task,
        "columns": {name: column_profile(train[name], kind) for name, kind in sorted(columns.items())},
    }
    if predictions is not None:
        kind = "numeric" if task == "regression" else "categorical"
        profile["prediction"] = column_profile(pd.Series(predictions), kind)
    return profile


REQUIRED = {"numeric": ("rows", "count", "missing"), "text": ("rows", "count", "missing", "counts")}


def check_profile(profile):
    """The profile, if it holds what the tests read; a ProfileError naming the first problem otherwise."""
    if (
        not isinstance(profile, dict)
        or profile.get("format") not in READABLE_FORMATS
        or not isinstance(profile.get("columns"), dict)
    ):
        raise ProfileError(f"not a reference profile of format {' or '.join(map(str, READABLE_FORMATS))}")
    for name, column in [
        *profile["columns"].items(),
        ("prediction", profile.get("prediction", {"kind": "text", "rows": 0, "count": 0, "missing": 0, "counts": []})),
    ]:
        kind = column.get("kind") if isinstance(column, dict) else None
        if kind not in REQUIRED or any(key not in column for key in REQUIRED[kind]):
            raise ProfileError(f"column '{name}' lacks its kind or counts")
        if kind == "numeric" and column["count"] and not {"values", "quantiles", "counts"} & set(column):
            raise ProfileError(f"numeric column '{name}' has no values, counts or quantiles")
    return profile
