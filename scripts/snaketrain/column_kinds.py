"""What each column of a user's table is, and so what becomes of it as features.

One reader for validate_data (which reports each column's kind and what will be done with it) and build_features
(which decides on the training part and records the decision in the schema):

    numeric       numbers                                   imputed (with a missing-value indicator), scaled
    integer_code  whole numbers repeated like codes         the number as above, and a target encoding of its
                  (zip, area and flight numbers)            value where the codes explain the target better than
                                                            the number's order (build_features decides)
    category      text with few values                      one-hot encoded
    many_valued   text with many repeated values            target-encoded (zip and product codes)
    date          datetime values, or text that parses      calendar features (year, month, day of week, hour,
                  as dates in one format                    elapsed days)
    text          free text: several words per value        TF-IDF of its words, capped
    identifier    about one distinct value per row          left out (validation.high_cardinality: fail stops)
    empty         no value in any row                       left out

The user decides where detection is not sure: validation.dtypes (numeric, categorical, datetime), features.dates,
features.text and features.encoding override it per column.
"""

import re
import warnings
from dataclasses import dataclass

KINDS = ("numeric", "integer_code", "category", "many_valued", "date", "text", "identifier", "empty")
# Whole numbers act as codes when they repeat: more distinct values than features.max_categories (fewer are split
# well as numbers), each present on CODE_MIN_ROWS_PER_VALUE rows on average (a target encoding of rarer values is
# mostly noise). Zip codes written without leading zeros, flight and area numbers are such columns; so can be
# years and whole amounts, which is why such a column stays a number too and gains only the code's encoding.
CODE_MIN_ROWS_PER_VALUE = 5
# text columns with more distinct values than this (and features.max_categories) are many-valued
IDENTIFIER_FRACTION = 0.95  # at least this share of the non-missing values distinct: an identifier
IDENTIFIER_MIN_DISTINCT = 20
DATE_PARSED_FRACTION = 0.95  # a text column is a date when this share of its values parse in one format
TEXT_MIN_WORDS = 4  # free text: at least this many words per value on average ...
TEXT_MIN_DISTINCT_FRACTION = 0.3  # ... and mostly different values
DETECTION_SAMPLE = 20_000
DATE_GUESSES = 20  # values whose format is guessed  # rows looked at to detect a kind (dates, words): a column's kind shows in a sample
_DATE_SHAPE = re.compile(
    r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$"
)
ISO = "ISO8601"


@dataclass(frozen=True)
class Kind:
    kind: str
    reason: str
    date_format: str | None = None  # date: the format its text parses with (ISO8601 for datetime values)
    has_time: bool = False  # date: whether the values carry a time of day


def detect(values, max_categories=20, declared=None, date_format=None, text=False, encoding=None):
    """The Kind of one column (a pandas Series) given the user's overrides.

    declared: validation.dtypes' kind for it; date_format: features.dates' entry (a format, "auto", or False for
    "not a date"); text: named in features.text; encoding: features.encoding's entry (onehot or target).
    """
    from pandas.api import types

    present = values.dropna()
    if not len(present) and len(values):
        return Kind("empty", "no value in any row: left out")
    if declared in ("numeric", "integer", "float"):
        return Kind("numeric", "declared numeric (validation.dtypes)")
    if text:
        return Kind("text", "named in features.text")
    if date_format is not False and (declared == "datetime" or date_format or types.is_datetime64_any_dtype(values)):
        fmt = None if date_format in (None, "auto") else date_format
        if types.is_datetime64_any_dtype(values):
            return Kind("date", "datetime values", ISO, has_time=_has_time(present))
        parsed_format = fmt or _date_format(present.astype(str))
        if parsed_format:
            parsed = _parse(present.astype(str), parsed_format)
            return Kind(
                "date",
                "declared a date" if (fmt or declared) else "text in one date format",
                parsed_format,
                _has_time(parsed),
            )
    if types.is_bool_dtype(values):
        return Kind("category", "true/false values")
    if types.is_numeric_dtype(values) and declared != "categorical":
        if declared is None and encoding is None:
            code = integer_code(present, max_categories)
            if code:
                return Kind("integer_code", code)
        return Kind("numeric", "numbers")
    sample = present.astype(str).head(DETECTION_SAMPLE)
    if date_format is None and declared is None and len(sample):
        fmt = _date_format(sample)
        if fmt:
            return Kind("date", f"text in one date format ({fmt})", fmt, _has_time(_parse(sample, fmt)))
    distinct = int(present.nunique())
    if declared is None and len(sample) and encoding is None:
        words = sample.str.split().str.len().mean()
        if words >= TEXT_MIN_WORDS and distinct >= TEXT_MIN_DISTINCT_FRACTION * len(present):
            return Kind("text", f"free text ({words:.1f} words per value)")
        if distinct > IDENTIFIER_MIN_DISTINCT and distinct >= IDENTIFIER_FRACTION * len(present):
            return Kind("identifier", f"{distinct} distinct values in {len(present)} rows: about one per row")
    if encoding == "target" or (encoding is None and distinct > max_categories):
        return Kind("many_valued", f"{distinct} distinct values, more than features.max_categories ({max_categories})")
    return Kind("category", f"{distinct} distinct values")


def integer_code(present, max_categories=20):
    """Why the numbers present (a column's non-missing values) act as codes, or None: whole numbers with more
    distinct values than max_categories, each on CODE_MIN_ROWS_PER_VALUE rows or more on average."""
    import numpy as np

    if not len(present):
        return None
    values = present.to_numpy(dtype=float)
    if not np.isfinite(values).all() or not (values == np.round(values)).all():
        return None
    distinct = int(present.nunique())
    if distinct <= max_categories or distinct * CODE_MIN_ROWS_PER_VALUE > len(present):
        return None
    return (
        f"whole numbers, {distinct} distinct values repeated ({len(present) / distinct:.0f} rows each on average): "
        "kept as numbers, and target-encoded as codes if they explain the target better than the numbers' order"
    )


def _date_format(text_values):
    """The one format (strftime) in which nearly every value parses as a date, or None."""
    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    sample = text_values.head(DETECTION_SAMPLE)
    if not len(sample) or sample.str.match(_DATE_SHAPE).mean() < DATE_PARSED_FRACTION:
        return None
    # "07/07/2022" reads month-first and day-first alike: guess from several values, both ways, keep the format
    # in which most values parse
    with warnings.catch_warnings():  # pandas warns when a guess contradicts dayfirst: both are tried on purpose
        warnings.simplefilter("ignore", UserWarning)
        guesses = [
            guess_datetime_format(str(value), dayfirst=dayfirst)
            for dayfirst in (False, True)  # on a tie, month-first (and ISO's year-month-day) wins
            for value in sample.head(DATE_GUESSES)
        ]
    candidates = [fmt for fmt in dict.fromkeys(guesses) if fmt]
    rates = {fmt: pd.to_datetime(sample, format=fmt, errors="coerce").notna().mean() for fmt in candidates}
    best = max(rates, key=rates.get, default=None)
    return best if best and rates[best] >= DATE_PARSED_FRACTION else None


def _parse(text_values, fmt):
    import pandas as pd

    return pd.to_datetime(text_values, format=fmt, errors="coerce")


def _has_time(parsed):
    parsed = parsed.dropna().head(DETECTION_SAMPLE)
    if not len(parsed):
        return False
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return bool((parsed != parsed.dt.normalize()).any())
