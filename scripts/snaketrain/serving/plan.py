"""The fast path's plan: which graph input each request column becomes, and what its raw values are fed as.

Numbers are fed as float64; text as the graph's string (its trained category, OTHER for an infrequent or unseen
one, the fill value for a missing one); a date as its calendar features, computed in Python with pandas' values;
free text as its TF-IDF, computed in Python after the graph. A value a column cannot take as it is gives None, and
the request then goes through inference.check_input on a DataFrame.
"""

import datetime
import functools
import math
import re
from dataclasses import dataclass

import numpy as np

# the twin encoder's category for infrequent and unseen values: no user sends a NUL-prefixed category
OTHER = "\x00other"
# the twin target encoder's category for missing values (when the encoder learnt one)
MISSING = "\x00missing"
ISO8601 = "ISO8601"  # column_kinds' format of datetime values (pandas' name)
FREE_TEXT = "\x00free_text"  # the feeds' key for the TF-IDF features computed in Python
EPOCH = datetime.datetime(1970, 1, 1)


@dataclass(frozen=True)
class TextColumn:
    name: str
    lookup: dict  # trained category -> the value fed to the graph (itself, or OTHER when infrequent)
    fill: str  # what a missing value is fed as (the imputer's fill value, through lookup)

    def feed(self, value):
        """The graph's string for one raw value; None for a value check_input must judge (not text or null)."""
        if value is None:
            return self.fill
        if type(value) is not str:
            return None
        return self.lookup.get(value) or (self.fill if not value.strip() else OTHER)


_PLAIN_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
_US_A_DAY = 86_400_000_000


@dataclass(frozen=True)
class DateColumn:
    """A date column whose calendar features (preprocessing.calendar_features) are computed in Python before the
    graph: one value parsed by datetime in the format recorded at training, with pandas' results."""

    name: str
    fmt: str  # strftime format, or ISO8601
    has_time: bool

    @property
    def parts(self):
        return ("year", "month", "day", "weekday") + (("hour",) if self.has_time else ()) + ("days",)

    def features(self, value):
        """The calendar features of one raw value (NaN for a missing one), or None when pandas must judge it
        (not text, blank, not in the format, a time zone, a year pandas cannot hold): the frame path then runs
        calendar_features itself, so a None costs time, never a different answer."""
        if value is None:
            return [np.nan] * len(self.parts)
        if type(value) is not str:
            return None
        features = _calendar_features(self.fmt, self.has_time, value)
        return list(features) if features is not None else None


@functools.lru_cache(maxsize=8192)  # dates repeat (days, months): a parse costs 10 us, a hit 0.1 us
def _calendar_features(fmt, has_time, value):
    try:
        if fmt != ISO8601:
            when = datetime.datetime.strptime(value, fmt)
        elif _PLAIN_ISO.fullmatch(value):  # the forms pandas and datetime read alike
            when = datetime.datetime.fromisoformat(value)
        else:
            return None
    except ValueError:
        return None
    if when.tzinfo is not None or not 1678 < when.year < 2262:
        return None
    elapsed = when - EPOCH
    # pandas divides whole nanoseconds by a day's exactly (int / int): the same correctly rounded double
    days = ((elapsed.days * 86400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds) / _US_A_DAY
    hour = (float(when.hour),) if has_time else ()
    return (float(when.year), float(when.month), float(when.day), float(when.weekday()), *hour, days)


@dataclass(frozen=True, eq=False)
class FreeTextColumn:
    """A free-text column whose TF-IDF features are computed in Python after the graph (ONNX Runtime's tokenizer
    matches \\w in ASCII only, and its lower-casing needs an installed locale): the fitted vectoriser's own
    analyzer, vocabulary and idf, normalised as scikit-learn normalises (squares summed in column order)."""

    name: str
    analyzer: object
    vocabulary: dict
    idf: np.ndarray

    @staticmethod
    def text(value):
        """What the vectoriser reads for one raw value (as_text, then filled_text); None for a value check_input
        must judge."""
        if value is None:
            return ""
        if type(value) is not str:
            return None
        return value if value.strip() else ""

    def matrix(self, texts):
        out = np.zeros((len(texts), len(self.idf)))
        for row, text in enumerate(texts):
            counts = {}
            for token in self.analyzer(text):
                index = self.vocabulary.get(token)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            values = [(index, count * self.idf[index]) for index, count in sorted(counts.items())]
            total = 0.0
            for _, value in values:
                total += value * value
            norm = math.sqrt(total) if total else 1.0
            for index, value in values:
                out[row, index] = value / norm
        return out


@dataclass(frozen=True, eq=False)
class CodeColumn:
    """A whole-number code column's target encoding (preprocessing's codes branch), computed in Python before the
    graph as scikit-learn's TargetEncoder.transform computes it: a trained code's encoding, the missing values' own
    encoding when the encoder learnt one, the target's mean for any other value. (skl2onnx's converter takes float32
    codes and binary or continuous targets only.)"""

    name: str  # the numeric column the codes are read from
    position: int  # its position among the plan's numeric columns
    inputs: tuple  # the graph's inputs: the branch's feature names (one per class for a multiclass target)
    codes: np.ndarray  # the trained codes, sorted, without NaN
    encodings: np.ndarray  # (codes, inputs)
    missing: np.ndarray  # (inputs,): a missing value's encoding
    unseen: np.ndarray  # (inputs,): an unseen value's encoding (the target's mean)

    def features(self, values):
        """(rows, inputs) float64 encodings of the column's raw values (NaN where missing)."""
        index = np.minimum(np.searchsorted(self.codes, values), len(self.codes) - 1)
        known = (self.codes[index] == values)[:, None]
        encoded = np.where(known, self.encodings[index], self.unseen)
        return np.where(np.isnan(values)[:, None], self.missing, encoded)


@dataclass(frozen=True)
class InputPlan:
    numeric: tuple  # column names fed as float64
    text: tuple  # TextColumn per text column
    fill: np.ndarray = None  # per numeric input: what a missing number becomes (NaN: left to the graph)
    inputs: tuple = ()  # the graph's input names: numeric columns, date features, text columns (renamed by skl2onnx)
    dates: tuple = ()  # DateColumn per date column: its features are float64 inputs after the numeric columns
    free_text: tuple = ()  # FreeTextColumn per free-text column: TF-IDF appended to the graph's output, in order
    width: int = 0  # the preprocessor's number of output features
    # (input name, position among the numeric columns) per missing-value indicator: 1.0 where the number is missing
    indicators: tuple = ()
    codes: tuple = ()  # CodeColumn per target-encoded code column: its encodings are inputs after the indicators

    @property
    def columns(self):
        names = (*self.numeric, *(column.name for column in self.text))
        return names + tuple(column.name for column in (*self.dates, *self.free_text))

    @property
    def indicator_inputs(self):
        return tuple(name for name, _ in self.indicators)

    @property
    def code_inputs(self):
        return tuple(name for column in self.codes for name in column.inputs)

    @property
    def text_inputs(self):
        """The graph's names of the text columns' inputs (after the numeric, date, indicator and code inputs)."""
        return self.inputs[len(self.fill) + len(self.indicators) + len(self.code_inputs) :]

    @property
    def date_inputs(self):
        return tuple(f"{column.name}_{part}" for column in self.dates for part in column.parts)
