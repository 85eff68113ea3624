"""The fast prediction path of the model service: a loaded version's pipeline (preprocessor + estimator) converted
to ONNX with skl2onnx and run by ONNX Runtime, with scikit-learn as the fallback.

One row through scikit-learn's Pipeline on a DataFrame costs about a millisecond, mostly per-call validation and
DataFrame work; the same pipeline in ONNX Runtime, fed straight from the JSON values, costs a few hundredths of that.

Two graphs, from a twin of the fitted preprocessor and the estimator: the features graph takes one input per
column, float64 for numbers (scaling as scikit-learn computes it) and a string tensor for text; the estimator's
graph takes the features in float64, or in float32 for tree classifiers (skl2onnx writes them for float32;
scikit-learn's trees and forests compute on float32 too). Tree regressors take float64 with double thresholds and
sums (serving.converters.DOUBLE_TREES), fed the features rounded to float32 where scikit-learn rounds them. What
the imputers and the encoder learnt is applied while the feeds are built (convertible, rows_feeds): a missing number
becomes the imputer's value (ONNX Runtime's Imputer takes float32 only); a missing text (null, NaN, blank) the
imputer's fill value; a category the encoder grouped as infrequent, or never saw, one marker, which the twin
OneHotEncoder (skl2onnx converts none with infrequent categories) maps to the infrequent column, or to zeros when
there is none, as scikit-learn does. What ONNX has no operator for runs in Python around the graph, with
scikit-learn's values bit for bit: a date's calendar features before it (DateColumn), free text's TF-IDF after it
(FreeTextColumn), and the user's feature code (features.custom) before everything.

A conversion is adopted only when ONNX Runtime agrees with scikit-learn on rows (the version's check rows where
the caller gives them, plus probe rows spread around the training data: medians, spread, every category, missing
and unseen values): the same labels, probabilities within PROBA_TOLERANCE, values within REGRESSION_RTOL.
Otherwise predictions go through scikit-learn, and .engine / .fallback_reason say which path serves and why.
Estimators outside scikit-learn plug in through serving.converters.
"""

import copy
import dataclasses
import datetime
import functools
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from snaketrain import custom_features
from snaketrain.registry import inference
from snaketrain.serving import converters

PROBA_TOLERANCE = 1e-5
REGRESSION_RTOL = 1e-6
PROBE_ROWS = 256
INLINE_SECONDS = 0.001
TIE_DECIMALS = 6  # float32 sums of a forest's votes are within 1e-7 of scikit-learn's float64 ones
# the twin encoder's category for infrequent and unseen values: no user sends a NUL-prefixed category
OTHER = "\x00other"
ISO8601 = "ISO8601"  # column_kinds' format of datetime values (pandas' name)
FREE_TEXT = "\x00free_text"  # the feeds' key for the TF-IDF features computed in Python


RUNTIME = ("onnxruntime", "skl2onnx")  # requirements-serve.txt


def missing_runtime():
    """The fast path's packages that are not installed (empty when it can be built)."""
    import importlib.util

    return [module for module in RUNTIME if importlib.util.find_spec(module) is None]


def sklearn_pipeline(loaded):
    """The version's fitted Pipeline: the registry's own file once it stores one, else preprocessor + estimator."""
    from sklearn.pipeline import make_pipeline

    return getattr(loaded, "pipeline", None) or make_pipeline(loaded.preprocessor, loaded.model)


def preprocessor_of(loaded):
    """The fitted preprocessor: the loaded version's own, or the first step of its Pipeline."""
    preprocessor = getattr(loaded, "preprocessor", None)
    return preprocessor if preprocessor is not None else sklearn_pipeline(loaded)[0]


# --- the plan: which input is which, and what text values become -----------------------------------------------


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


_EPOCH = datetime.datetime(1970, 1, 1)
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
    elapsed = when - _EPOCH
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


@dataclass(frozen=True)
class InputPlan:
    numeric: tuple  # column names fed as float64
    text: tuple  # TextColumn per text column
    fill: np.ndarray = None  # per numeric input: what a missing number becomes (NaN: left to the graph)
    inputs: tuple = ()  # the graph's input names: numeric columns, date features, text columns (renamed by skl2onnx)
    dates: tuple = ()  # DateColumn per date column: its features are float64 inputs after the numeric columns
    free_text: tuple = ()  # FreeTextColumn per free-text column: TF-IDF appended to the graph's output, in order
    width: int = 0  # the preprocessor's number of output features

    @property
    def columns(self):
        names = (*self.numeric, *(column.name for column in self.text))
        return names + tuple(column.name for column in (*self.dates, *self.free_text))

    @property
    def date_inputs(self):
        return tuple(f"{column.name}_{part}" for column in self.dates for part in column.parts)


def _column_transformer(preprocessor):
    """The fitted ColumnTransformer inside our preprocessor (after its as_text step), or the preprocessor itself."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(preprocessor, ColumnTransformer):
        return preprocessor
    if isinstance(preprocessor, Pipeline):
        *first, last = preprocessor.steps
        if isinstance(last[1], ColumnTransformer) and all(_is_as_text(step) for _, step in first):
            return last[1]
    raise converters.Unconvertible(f"the preprocessor ({converters.class_path(preprocessor)}) has an unknown form")


def _is_as_text(step):
    from snaketrain.preprocessing import as_text

    return getattr(step, "func", None) is as_text


def _text_branch(transformer, columns):
    """(TextColumns, twin OneHotEncoder) for an [imputer,] encoder branch on text columns."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, TargetEncoder

    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    if len(steps) == 1 and isinstance(steps[0], TargetEncoder):
        return _target_branch(steps[0], columns)
    imputer = steps[0] if len(steps) == 2 and isinstance(steps[0], SimpleImputer) else None
    encoder = steps[-1]
    if len(steps) != (2 if imputer else 1) or not isinstance(encoder, OneHotEncoder):
        raise converters.Unconvertible("a text branch other than [SimpleImputer,] OneHotEncoder")
    if encoder.drop is not None or encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise converters.Unconvertible("a OneHotEncoder that drops categories or refuses unseen ones")
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
    text, twin_categories = [], []
    for index, name in enumerate(columns):
        categories = list(encoder.categories_[index])
        rare = set(infrequent[index]) if infrequent[index] is not None else set()
        if not all(isinstance(category, str) for category in categories):
            raise converters.Unconvertible(f"column '{name}' has categories that are not text")
        frequent = [category for category in categories if category not in rare]
        lookup = {category: (OTHER if category in rare else category) for category in categories}
        fill = imputer.statistics_[index] if imputer is not None else None
        if not isinstance(fill, str):
            raise converters.Unconvertible(f"column '{name}' has no text fill value for missing values")
        text.append(TextColumn(name, lookup, lookup.get(fill, OTHER)))
        twin_categories.append(frequent + ([OTHER] if rare else []))
    twin = OneHotEncoder(categories=twin_categories, handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    twin.fit(np.array([[categories[0] for categories in twin_categories]], dtype=object))
    return text, twin


MISSING = "\x00missing"


def _target_branch(encoder, columns):
    """(TextColumns, twin TargetEncoder) for a many-valued code branch: each trained category fed as itself, a
    missing value as MISSING (the category the encoder learnt for missing values, when it saw any), anything
    else as OTHER, which the twin maps to the target's mean as scikit-learn maps an unseen value."""
    from sklearn.base import clone

    text, twin_categories = [], []
    for index, name in enumerate(columns):
        categories = list(encoder.categories_[index])
        named = [
            MISSING if not isinstance(category, str) and category != category else category for category in categories
        ]
        if not all(isinstance(category, str) for category in named):
            raise converters.Unconvertible(f"column '{name}' has target-encoded categories that are not text")
        lookup = {category: category for category in named if category != MISSING}
        text.append(TextColumn(name, lookup, MISSING if MISSING in named else OTHER))
        twin_categories.append(np.array(named, dtype=object))
    twin = clone(encoder)
    for attribute, value in vars(encoder).items():
        if attribute.endswith("_") and not attribute.startswith("__"):
            setattr(twin, attribute, copy.deepcopy(value))
    twin.categories_ = twin_categories
    return text, twin


def convertible(loaded):
    """(InputPlan, twin ColumnTransformer, twin estimator): what skl2onnx converts, with the parts computed in
    Python around the graph (calendar features before it, TF-IDF after it); Unconvertible when a part has no
    converter."""
    schema = loaded.input_schema["columns"]
    original = _column_transformer(preprocessor_of(loaded))
    columns = copy.deepcopy(original)
    numeric, text, dates, free_text, fills = [], [], [], [], {}
    for index, (name, transformer, used) in enumerate(columns.transformers_):
        if free_text and len(used) and transformer != "drop" and not _free_text(transformer):
            # the TF-IDF features are appended after the graph's: they must be the last the preprocessor gives
            raise converters.Unconvertible(f"transformer '{name}' comes after a free-text one")
        if isinstance(transformer, str) or not len(used):  # "drop" / "passthrough", or no columns
            if transformer == "passthrough" and len(used):
                numeric += list(used)
            continue
        used = [str(column) for column in used]
        # columns the user's feature code adds are not in the input schema: their branch says what they are
        kinds = {schema.get(column) for column in used} - {None}
        if not kinds:
            kinds = {"categorical" if _encodes_text(transformer) else "numeric"}
        if _calendar(transformer):
            dates += _date_branch(columns, index)
            fills.update(_numeric_fills(columns, index, columns.transformers_[index][2]))
        elif _free_text(transformer):
            free_text.append(_free_text_column(transformer, used))
            columns.transformers_[index] = (name, "drop", used)
        elif kinds == {"categorical"}:
            branch, twin = _text_branch(transformer, used)
            text += branch
            columns.transformers_[index] = (name, twin, used)
        elif kinds == {"numeric"}:
            numeric += used
            fills.update(_numeric_fills(columns, index, used))
        else:
            raise converters.Unconvertible(f"transformer '{name}' mixes text and numeric columns, or unknown ones")
    estimator = converters.unthresholded(loaded.model)  # a tuned threshold is applied after the graph
    converters.ensure(estimator)
    plan = InputPlan(
        tuple(numeric),
        tuple(text),
        dates=tuple(dates),
        free_text=tuple(free_text),
        width=len(original.get_feature_names_out()),
    )
    fill = np.array([fills.get(column, np.nan) for column in (*plan.numeric, *plan.date_inputs)], dtype=np.float64)
    return dataclasses.replace(plan, fill=fill), columns, _float32_twin(estimator)


def _encodes_text(transformer):
    from sklearn.preprocessing import OneHotEncoder, TargetEncoder

    steps = [step for _, step in getattr(transformer, "steps", [(None, transformer)])]
    return any(isinstance(step, OneHotEncoder | TargetEncoder) for step in steps)


def _calendar(transformer):
    """Whether transformer is build_features' date branch: calendar_features, then numbers."""
    from snaketrain.preprocessing import calendar_features

    first = getattr(transformer, "steps", [(None, None)])[0][1]
    return getattr(first, "func", None) is calendar_features and len(transformer.steps) == 2


def _date_branch(columns, index):
    """DateColumns of a date branch; the twin keeps only its numbers step, on the calendar features' names (the
    graph's inputs for them)."""
    from snaketrain.preprocessing import calendar_feature_names

    name, transformer, used = columns.transformers_[index]
    calendar, numbers = (step for _, step in transformer.steps)
    formats, times = calendar.kw_args["formats"], calendar.kw_args["times"]
    dates = [DateColumn(str(column), formats[column], bool(times.get(column))) for column in used]
    columns.transformers_[index] = (name, numbers, calendar_feature_names(calendar, used))
    return dates


def _free_text(transformer):
    """The words Pipeline (filled_text, TfidfVectorizer) of build_features' free-text branch, or None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    from snaketrain.preprocessing import filled_text

    if not isinstance(transformer, ColumnTransformer) or len(transformer.transformers_) < 1:
        return None
    words = transformer.transformers_[0][1]
    steps = [step for _, step in getattr(words, "steps", [])]
    if len(steps) == 2 and getattr(steps[0], "func", None) is filled_text and isinstance(steps[1], TfidfVectorizer):
        return words
    return None


def _free_text_column(transformer, used):
    vectorizer = _free_text(transformer).steps[-1][1]
    settings = (vectorizer.norm, vectorizer.use_idf, vectorizer.sublinear_tf, vectorizer.binary)
    if settings != ("l2", True, False, False) or len(used) != 1:
        raise converters.Unconvertible(f"a TF-IDF of column '{used[0]}' with other settings than build_features'")
    return FreeTextColumn(used[0], vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), vectorizer.idf_)


def _float32_twin(model):
    """scikit-learn's trees compare float32 features with float64 thresholds; ONNX compares float32 with float32.
    For a float32 value v, v <= t exactly when v <= t rounded down to float32: a copy with thresholds so rounded
    takes the same branches in both (rounding to nearest, skl2onnx's cast, flips rows that sit on a threshold)."""
    from sklearn.tree import BaseDecisionTree

    if converters.input_dtype(model) != np.float32:
        return model
    twin = copy.deepcopy(model)
    trees = getattr(twin, "estimators_", [twin])
    for tree in np.ravel(np.asarray(trees, dtype=object)):
        if isinstance(tree, BaseDecisionTree):
            thresholds = tree.tree_.threshold
            rounded = thresholds.astype(np.float32)
            rounded = np.where(rounded > thresholds, np.nextafter(rounded, np.float32(-np.inf)), rounded)
            thresholds[:] = rounded.astype(np.float64)
    return twin


def _numeric_fills(columns, index, used):
    """{column: fill value} of a numeric branch's leading SimpleImputer, which the twin drops: ONNX Runtime's
    Imputer takes float32 only, so missing numbers are filled while the feeds are built (in float64)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    name, transformer, _ = columns.transformers_[index]
    if isinstance(transformer, SimpleImputer):
        imputer, rest = transformer, "passthrough"
    elif isinstance(transformer, Pipeline) and isinstance(transformer.steps[0][1], SimpleImputer):
        imputer = transformer.steps[0][1]
        rest = Pipeline(transformer.steps[1:]) if len(transformer.steps) > 1 else "passthrough"
    else:
        return {}
    if not np.isnan(imputer.missing_values) or imputer.add_indicator:
        raise converters.Unconvertible(f"transformer '{name}' imputes other markers than NaN, or adds indicators")
    columns.transformers_[index] = (name, rest, used)
    return dict(zip(used, imputer.statistics_.astype(np.float64), strict=True))


# --- feeds: raw values in, the graph's inputs out ------------------------------------------------------------


def rows_feeds(plan, columns, rows):
    """The feeds for rows (lists of JSON values in the order of columns), or None whenever check_input must look
    at them (a missing column, ragged rows, a value that is not a number/null in a numeric column or text/null in a
    text one, a date only pandas can read). It accepts only what check_input accepts, so a None costs time, never a
    different answer."""
    if not rows:
        return None
    try:
        where = {column: position for position, column in enumerate(columns)}
        width = len(columns)
        if any(len(row) != width for row in rows):
            return None
        positions = [where[name] for name in plan.numeric]
        flat = [row[position] for row in rows for position in positions]
        if not set(map(type, flat)) <= _NUMBER_TYPES:
            return None
        matrix = np.array(flat, dtype=np.float64).reshape(len(rows), len(positions))
        if plan.dates:
            parts = [_date_features(plan.dates, [row[where[column.name]] for column in plan.dates]) for row in rows]
            if None in parts:
                return None
            matrix = np.hstack([matrix, np.array(parts, dtype=np.float64)])
        feeds = numeric_feeds(plan, matrix)
        for column, name in zip(plan.text, plan.inputs[len(plan.fill) :], strict=True):
            position = where[column.name]
            values = [column.feed(row[position]) for row in rows]
            if None in values:
                return None
            feeds[name] = np.array(values, dtype=object).reshape(-1, 1)
        if plan.free_text:
            texts = [[column.text(row[where[column.name]]) for row in rows] for column in plan.free_text]
            if any(None in values for values in texts):
                return None
            feeds[FREE_TEXT] = [column.matrix(values) for column, values in zip(plan.free_text, texts, strict=True)]
    except (TypeError, KeyError):
        return None
    return feeds


def _date_features(dates, values):
    """One row's calendar features of every date column, or None when one of them needs pandas."""
    row = []
    for column, value in zip(dates, values, strict=True):
        features = column.features(value)
        if features is None:
            return None
        row += features
    return row


def records_feeds(plan, records):
    """rows_feeds for records (a list of {column: value})."""
    columns = plan.columns
    try:
        rows = [[record[column] for column in columns] for record in records]
    except (KeyError, TypeError):
        return None
    return rows_feeds(plan, columns, rows)


# JSON values the fast path takes as numbers (None is a missing value, imputed as in training); bool is not int here
_NUMBER_TYPES = frozenset({int, float, type(None)})


def numeric_feeds(plan, matrix):
    """One (rows, 1) float64 input per numeric column and date feature, missing values filled as the imputers
    learnt."""
    missing = np.isnan(matrix)
    if missing.any():
        matrix = np.where(missing, plan.fill, matrix)
    # each column contiguous, so ONNX Runtime reads it without a copy
    return {
        name: np.ascontiguousarray(matrix[:, index : index + 1])
        for index, name in enumerate(plan.inputs[: len(plan.fill)])
    }


def frame_feeds(plan, frame):
    """The feeds for a DataFrame that passed check_input (numeric columns as numbers), with the preprocessor's
    own functions for text (as_text, filled_text) and dates (calendar_features)."""
    from snaketrain.preprocessing import as_text, calendar_features, filled_text

    blocks = [frame[name].to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1) for name in plan.numeric]
    if plan.dates:
        formats = {column.name: column.fmt for column in plan.dates}
        times = {column.name: column.has_time for column in plan.dates}
        blocks.append(calendar_features(frame[list(formats)], formats, times)[list(plan.date_inputs)].to_numpy())
    feeds = numeric_feeds(plan, np.hstack(blocks)) if blocks else {}
    names = [column.name for column in (*plan.text, *plan.free_text)]
    texts = as_text(frame[names], names) if names else None
    for column, name in zip(plan.text, plan.inputs[len(plan.fill) :], strict=True):
        values = [column.fill if value != value else column.lookup.get(value, OTHER) for value in texts[column.name]]
        feeds[name] = np.array(values, dtype=object).reshape(-1, 1)
    if plan.free_text:
        feeds[FREE_TEXT] = [column.matrix(list(filled_text(texts[column.name]))) for column in plan.free_text]
    return feeds


# --- the predictor -------------------------------------------------------------------------------------------


@dataclass
class Predictor:
    """Predicts for one loaded version: .predict_feeds on what rows_feeds/records_feeds built (ONNX only),
    .predict_frame on rows checked by check_input. Both compute only what is asked: labels, or probabilities too."""

    loaded: object
    engine: str
    fallback_reason: str = None
    session: object = None  # (features session, estimator session)
    plan: InputPlan = None
    casts: tuple = ()  # the dtypes the features go through before the estimator graph (estimator_casts)
    labels_from_proba: bool = False
    classes: np.ndarray = None
    threshold: tuple = None  # (positive index, other index, threshold) of a tuned decision threshold
    outputs: tuple = field(default=())
    inline_rows: int = 0  # calls on at most this many rows take under INLINE_SECONDS

    @property
    def fast(self):
        return self.session is not None

    @property
    def request_plan(self):
        """The plan for building feeds straight from a request's values: none when the user's feature code
        (features.custom) must run on the rows first."""
        return self.plan if self.loaded.features is None else None

    def steps(self):
        """Where each part of a prediction runs, in order: [{"step": ..., "runs_in": "python" | engine}]."""
        if not self.fast:
            return [{"step": "preprocessor and model", "runs_in": self.engine}]
        dates = [f"calendar features of {column.name} ({column.fmt})" for column in self.plan.dates]
        words = [f"TF-IDF of {column.name}" for column in self.plan.free_text]
        python = [{"step": step, "runs_in": "python"} for step in (*dates, *words)]
        rest = "the rest of the preprocessor and model" if python else "preprocessor and model"
        return python + [{"step": rest, "runs_in": self.engine}]

    def predict_feeds(self, feeds, probabilities=False):
        features, estimator = self.session
        free_text = feeds.get(FREE_TEXT)
        if free_text is None:
            (matrix,) = features.run(None, feeds)
        else:
            (matrix,) = features.run(None, {name: value for name, value in feeds.items() if name != FREE_TEXT})
            matrix = np.hstack([matrix, *free_text])
        for dtype in self.casts:
            matrix = matrix.astype(dtype)
        inputs = {"features": matrix}
        if self.labels_from_proba:
            (proba,) = estimator.run(self.outputs[1:2], inputs)
            labels = labels_from_proba(proba, self.classes, self.threshold)
            return labels, proba.astype(np.float64) if probabilities else None
        if probabilities and len(self.outputs) > 1:
            labels, proba = estimator.run(self.outputs[:2], inputs)
            return self._labels(labels), proba.astype(np.float64)
        (labels,) = estimator.run(self.outputs[:1], inputs)
        return self._labels(labels), None

    def _labels(self, values):
        values = values.ravel()
        return values.astype(np.float64) if self.loaded.task == "regression" else values

    def predict_frame(self, checked, probabilities=False, stage="serve", where=None):
        """Rows that passed check_input (numeric columns as numbers); the user's feature code runs on them first,
        in Python, then the ONNX graphs or scikit-learn."""
        if self.loaded.features is not None:
            columns = list(self.loaded.input_schema["columns"])
            checked = custom_features.apply(self.loaded.features, checked[columns], stage, where)
        if self.fast:
            return self.predict_feeds(frame_feeds(self.plan, checked), probabilities)
        pipeline = self.loaded.pipeline
        rows = checked[list(pipeline.feature_names_in_)]
        labels = pipeline.predict(rows)
        proba = None
        if probabilities and self.loaded.task != "regression" and hasattr(pipeline, "predict_proba"):
            proba = pipeline.predict_proba(rows)
        return labels, proba


def labels_from_proba(proba, classes, threshold=None):
    """Labels from the graph's class probabilities: with a tuned decision threshold (positive index, other index,
    threshold) the positive class where its probability reaches the threshold, as scikit-learn's
    FixedThresholdClassifier decides; else the most probable class, as scikit-learn's forests do."""
    if threshold is not None:
        positive, other, value = threshold
        return classes[np.where(proba[:, positive] >= value, positive, other)]
    # scikit-learn's forests predict classes_[argmax(probabilities)], the first class on a tie (votes split
    # evenly); ONNX sums in float32, so a tie comes out 0.49999994 / 0.50000006: round off that noise first
    return classes[np.argmax(np.round(proba, TIE_DECIMALS), axis=1)]


def session_options():
    """ONNX Runtime tuned for serving: one thread per session (each worker process answers one request at a time,
    and more threads would only contend for the same cores), sequential execution, full graph optimisation."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def to_onnx(plan, columns, model):
    """Two ONNX models: the twin ColumnTransformer (float64 in and out) and the estimator (on float32 features for
    tree classifiers and registered float32 families; float64 otherwise, tree regressors in double)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    inputs = [(name, DoubleTensorType([None, 1])) for name in (*plan.numeric, *plan.date_inputs)]
    inputs += [(column.name, StringTensorType([None, 1])) for column in plan.text]
    # ai.onnx.ml 3 is the newest version of the tree and encoder operators skl2onnx writes that ONNX Runtime runs
    opset = {"": 21, "ai.onnx.ml": 3}
    features = convert_sklearn(columns, initial_types=inputs, target_opset=opset)
    width = plan.width
    tensor = FloatTensorType if converters.input_dtype(model) == np.float32 else DoubleTensorType
    estimator = convert_sklearn(
        model,
        initial_types=[("features", tensor([None, width]))],
        options={id(model): converters.options(model)},
        target_opset=opset,
    )
    return features, estimator


def _session(onx):
    import onnxruntime

    return onnxruntime.InferenceSession(onx.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])


def probe_rows(loaded, plan, n=PROBE_ROWS, seed=0):
    """Raw input rows spread around the training data: numbers around the imputer's medians with the scaler's
    spread (a few missing), every trained category in turn, missing and unseen text; a DataFrame."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    center, spread = {}, {}
    for _, transformer, used in _column_transformer(preprocessor_of(loaded)).transformers_:
        steps = getattr(transformer, "named_steps", {})
        if "calendar" in steps:
            steps, used = steps["numbers"].named_steps, plan.date_inputs
        impute, scale = steps.get("impute"), steps.get("scale")
        for index, column in enumerate(used):
            if column in plan.numeric or column in plan.date_inputs:
                center[column] = getattr(impute, "statistics_", np.zeros(len(used)))[index]
                spread[column] = scale.scale_[index] if scale is not None else max(abs(center[column]), 1.0)
    frame = {}
    for column in plan.numeric:
        values = center.get(column, 0.0) + spread.get(column, 1.0) * rng.normal(scale=1.5, size=n)
        values[rng.random(n) < 0.05] = np.nan
        frame[column] = values
    for column in plan.text:
        choices = [*column.lookup, None, "", "never seen in training"]
        frame[column.name] = [choices[(i + rng.integers(len(choices))) % len(choices)] for i in range(n)]
    for column in plan.dates:
        frame[column.name] = _probe_dates(column, center.get(f"{column.name}_days", 0.0), rng, n)
    for column in plan.free_text:
        words = [*sorted(column.vocabulary), "neverseenword"]
        texts = [" ".join(rng.choice(words, size=rng.integers(0, 9))) for _ in range(n)]
        frame[column.name] = [None, "", " ", *texts[3:]][:n]
    return pd.DataFrame(frame)


def _probe_dates(column, center_days, rng, n):
    """Dates around the trained median written in the column's format; a few missing or not dates at all."""
    values = []
    for days in center_days + 400 * rng.normal(size=n):
        when = _EPOCH + datetime.timedelta(days=float(days), seconds=int(rng.integers(86400)) * column.has_time)
        text = when.strftime(column.fmt) if column.fmt != ISO8601 else str(when if column.has_time else when.date())
        values.append(text)
    return [None, "not a date", "", *values[3:]][:n]


def disagreement(reference, candidate, task):
    """Why candidate's (labels, probabilities) differ from reference's, or None when they agree."""
    ref_labels, ref_proba = reference
    labels, proba = candidate
    if task == "regression":
        if not np.allclose(np.asarray(labels, dtype=np.float64), ref_labels, rtol=REGRESSION_RTOL, atol=1e-12):
            worst = np.max(np.abs(labels - ref_labels) / np.maximum(np.abs(ref_labels), 1e-12))
            return f"ONNX Runtime's values differ from scikit-learn's (relative {worst:.1e} > {REGRESSION_RTOL})"
        return None
    if list(labels) != list(ref_labels):
        count = sum(a != b for a, b in zip(labels, ref_labels, strict=True))
        return f"ONNX Runtime's labels differ from scikit-learn's on {count} of {len(labels)} check rows"
    if ref_proba is not None:
        worst = np.abs(np.asarray(proba) - ref_proba).max() if proba is not None else np.inf
        if worst > PROBA_TOLERANCE:
            return f"ONNX Runtime's class probabilities differ from scikit-learn's by {worst:.1e} (> {PROBA_TOLERANCE})"
    return None


def _check(loaded, reference, fast, check_rows):
    """Why fast disagrees with reference (scikit-learn) on check_rows (raw input rows, through the user's feature
    code when the version has some) and on probe rows (the preprocessor's own input columns), or None."""
    want = loaded.task != "regression"
    if check_rows is not None and len(check_rows):
        rows = check_rows[list(loaded.input_schema["columns"])]
        checked, _ = inference.check_input(rows, loaded.input_schema, stage="serve")
        why = disagreement(reference.predict_frame(checked, want), fast.predict_frame(checked, want), loaded.task)
        if why:
            return why
    probe = probe_rows(loaded, fast.plan)
    if loaded.features is None:  # else the probe holds the columns the feature code gives, past the input schema
        probe, _ = inference.check_input(probe, loaded.input_schema, stage="serve")
    pipeline = sklearn_pipeline(loaded)
    probe = probe[list(pipeline.feature_names_in_)]  # a fitted ColumnTransformer selects columns by position
    want = want and hasattr(pipeline, "predict_proba")
    expected = pipeline.predict(probe), pipeline.predict_proba(probe) if want else None
    return disagreement(expected, fast.predict_feeds(frame_feeds(fast.plan, probe), want), loaded.task)


def build(loaded, engine="auto", check_rows=None):
    """The fastest predictor that agrees with scikit-learn: ONNX Runtime when engine is "auto" and the version
    converts and agrees on check_rows (a DataFrame of raw input rows, e.g. the test split) and probe rows, else
    scikit-learn, with the reason."""
    from sklearn.ensemble._forest import ForestClassifier

    fallback = Predictor(loaded, "scikit-learn")
    if engine == "sklearn":
        fallback.fallback_reason = "the scikit-learn engine was asked for"
        return fallback
    try:
        plan, columns, model = convertible(loaded)
        features, estimator = (_session(onx) for onx in to_onnx(plan, columns, model))
    except converters.Unconvertible as error:
        fallback.fallback_reason = f"the pipeline does not convert to ONNX: {error}"
        return fallback
    except Exception as error:  # any converter or runtime refusal means: stay on scikit-learn
        fallback.fallback_reason = f"the pipeline does not convert to ONNX ({type(error).__name__}: {error})"[:300]
        return fallback
    outputs = tuple(output.name for output in estimator.get_outputs())
    threshold = converters.threshold_of(loaded.model)
    forest = (isinstance(model, ForestClassifier) or threshold is not None) and len(outputs) > 1
    fast = Predictor(
        loaded,
        "onnxruntime",
        session=(features, estimator),
        plan=dataclasses.replace(plan, inputs=tuple(node.name for node in features.get_inputs())),
        outputs=outputs,
        casts=estimator_casts(model),
        labels_from_proba=forest,
        classes=np.asarray(model.classes_) if forest else None,
        threshold=threshold,
    )
    try:
        why = _check(loaded, fallback, fast, check_rows)
    except Exception as error:  # rows the check could not score: trust nothing
        why = f"the conversion could not be checked ({type(error).__name__}: {error})"[:300]
    if why:
        fallback.fallback_reason = why
        return fallback
    fast.inline_rows = inline_rows(fast, probe_rows(loaded, fast.plan))
    return fast


def estimator_casts(model):
    """The dtypes the features matrix (float64) goes through for the estimator graph: to float32 for a float32
    graph; to float32 and back for a float64 graph of a model that compares float32 values (so that ONNX compares
    the values scikit-learn compares); none otherwise."""
    if converters.input_dtype(model) == np.float32:
        return (np.float32,)
    return (np.float32, np.float64) if converters.rounds_to_float32(model) else ()


def inline_rows(fast, rows, repeats=10):
    """How many rows one call predicts within INLINE_SECONDS (timed on rows, best of `repeats`: the call's cost on
    a quiet core, whatever the load when the version loads): the service runs such calls on its event loop, where
    a thread hop would cost more than the call, and larger ones in a thread."""
    feeds = frame_feeds(fast.plan, rows)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fast.predict_feeds(feeds)
        best = min(best, time.perf_counter() - start)
    return max(1, int(INLINE_SECONDS * len(rows) / best))
