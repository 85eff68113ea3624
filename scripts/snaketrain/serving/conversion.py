"""A version's fitted pipeline as what skl2onnx converts: an InputPlan (serving.plan), a twin ColumnTransformer and
a twin estimator, and the two ONNX models made from them.

The twins differ from the fitted objects where ONNX computes otherwise than scikit-learn: the numeric imputers are
dropped (missing numbers are filled while the feeds are built, in float64), text encoders are replaced by encoders
on the plan's categories (OTHER for infrequent and unseen ones), the date branch keeps only its numbers step (the
calendar features are computed in Python), the free-text branch is dropped (its TF-IDF is computed in Python), and
float32 trees get thresholds rounded down to float32. Estimators outside scikit-learn plug in through
serving.converters.
"""

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from snaketrain.serving import converters
from snaketrain.serving.plan import MISSING, OTHER, CodeColumn, DateColumn, FreeTextColumn, InputPlan, TextColumn

# ai.onnx.ml 3 is the newest version of the tree and encoder operators skl2onnx writes that ONNX Runtime runs
OPSET = {"": 21, "ai.onnx.ml": 3}


def date_formats(loaded):
    """{date column: the format its text is parsed in (strftime, or ISO8601)} of the version's preprocessor; empty
    for a preprocessor of another form."""
    try:
        branches = column_transformer(loaded.preprocessor).transformers_
    except converters.Unconvertible:
        return {}
    formats = {}
    for _, transformer, _used in branches:
        if _calendar(transformer):
            formats.update(transformer.steps[0][1].kw_args["formats"])
    return formats


@dataclass
class _Inputs:
    """What convertible gathers, branch by branch, for the InputPlan."""

    numeric: list = field(default_factory=list)
    text: list = field(default_factory=list)
    dates: list = field(default_factory=list)
    free_text: list = field(default_factory=list)
    fills: dict = field(default_factory=dict)
    indicators: list = field(default_factory=list)  # (input name, numeric column) per missing-value indicator
    codes: list = field(default_factory=list)  # (numeric column, TargetEncoder, its feature names) per code column

    def plan(self, width):
        indicators = tuple((name, self.numeric.index(column)) for name, column in self.indicators)
        plan = InputPlan(
            tuple(self.numeric),
            tuple(self.text),
            dates=tuple(self.dates),
            free_text=tuple(self.free_text),
            width=width,
            indicators=indicators,
            codes=tuple(_code_column(self.numeric, *code) for code in self.codes),
        )
        inputs = (*plan.numeric, *plan.date_inputs)
        fill = np.array([self.fills.get(column, np.nan) for column in inputs], dtype=np.float64)
        return dataclasses.replace(plan, fill=fill)


def convertible(loaded):
    """(InputPlan, twin ColumnTransformer, twin estimator): what skl2onnx converts, with the parts computed in
    Python around the graph (calendar features before it, TF-IDF after it); Unconvertible when a part has no
    converter."""
    schema = loaded.input_schema["columns"]
    original = column_transformer(loaded.preprocessor)
    columns = copy.deepcopy(original)
    inputs = _Inputs()
    for index, (name, transformer, used) in enumerate(columns.transformers_):
        if inputs.free_text and len(used) and transformer != "drop" and not _free_text(transformer):
            # the TF-IDF features are appended after the graph's: they must be the last the preprocessor gives
            raise converters.Unconvertible(f"transformer '{name}' comes after a free-text one")
        if isinstance(transformer, str) or not len(used):  # "drop" / "passthrough", or no columns
            if transformer == "passthrough" and len(used):
                inputs.numeric += list(used)
            continue
        _add_branch(inputs, columns, index, schema)
    estimator = converters.unthresholded(loaded.model)  # a tuned threshold is applied after the graph
    converters.ensure(estimator)
    return inputs.plan(len(original.get_feature_names_out())), columns, _float32_twin(estimator)


def _add_branch(inputs, columns, index, schema):
    """Adds one fitted branch's columns to inputs, replacing the branch by its twin in columns."""
    name, transformer, used = columns.transformers_[index]
    used = [str(column) for column in used]
    # columns the user's feature code adds are not in the input schema: their branch says what they are
    kinds = {schema.get(column) for column in used} - {None}
    if not kinds:
        kinds = {"categorical" if _encodes_text(transformer) else "numeric"}
    if _calendar(transformer):
        inputs.dates += _date_branch(columns, index)
        inputs.fills.update(_numeric_fills(columns, index, columns.transformers_[index][2]))
    elif _codes(transformer):
        inputs.codes += _code_branch(columns, index)
    elif _free_text(transformer):
        inputs.free_text.append(_free_text_column(transformer, used))
        columns.transformers_[index] = (name, "drop", used)
    elif kinds == {"categorical"}:
        branch, twin = _text_branch(transformer, used)
        inputs.text += branch
        columns.transformers_[index] = (name, twin, used)
    elif kinds == {"numeric"}:
        inputs.numeric += used
        inputs.fills.update(_numeric_fills(columns, index, used, inputs.indicators))
    else:
        raise converters.Unconvertible(f"transformer '{name}' mixes text and numeric columns, or unknown ones")


def column_transformer(preprocessor):
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


def _codes(transformer):
    """The TargetEncoder of build_features' codes branch (a ColumnTransformer of one target encoder on numbers, so
    that its features are named code__<column>), or None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import TargetEncoder

    if not isinstance(transformer, ColumnTransformer):
        return None
    used = [step for step in transformer.transformers_ if step[1] != "drop" and len(step[2])]
    if len(used) == 1 and isinstance(used[0][1], TargetEncoder):
        return used[0][1]
    return None


def _code_branch(columns, index):
    """(column, encoder, feature names) per column of a codes branch; the twin passes the encodings, computed in
    Python (plan.CodeColumn), through as inputs named after the branch's features."""
    name, transformer, _ = columns.transformers_[index]
    encoder = _codes(transformer)
    (used,) = [step[2] for step in transformer.transformers_ if step[1] is encoder]  # the encoder's own order
    names = [str(feature) for feature in transformer.get_feature_names_out()]
    per_column = len(names) // len(used)
    codes = [
        (str(column), encoder, tuple(names[i * per_column : (i + 1) * per_column]), i) for i, column in enumerate(used)
    ]
    columns.transformers_[index] = (name, "passthrough", names)
    return codes


def _code_column(numeric, column, encoder, names, feature):
    """plan.CodeColumn of feature (the encoder's feature index) of a codes branch, read from numeric column."""
    if column not in numeric:
        raise converters.Unconvertible(f"code column '{column}' is not also a numeric input")
    categories = np.asarray(encoder.categories_[feature], dtype=np.float64)
    per_class = len(names)
    encodings = np.column_stack(
        [np.asarray(encoder.encodings_[feature * per_class + k], dtype=np.float64) for k in range(per_class)]
    )
    unseen = np.broadcast_to(np.asarray(encoder.target_mean_, dtype=np.float64), (per_class,)).copy()
    present = ~np.isnan(categories)
    missing = encodings[~present][0] if (~present).any() else unseen
    order = np.argsort(categories[present], kind="stable")
    return CodeColumn(
        column,
        numeric.index(column),
        names,
        categories[present][order],
        encodings[present][order],
        missing,
        unseen,
    )


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


def _numeric_fills(columns, index, used, indicators=None):
    """{column: fill value} of a numeric branch's leading SimpleImputer, which the twin drops: ONNX Runtime's
    Imputer takes float32 only, so missing numbers are filled while the feeds are built (in float64). The imputer's
    missing-value indicators (add_indicator) become inputs of their own, computed with the feeds and appended to
    the branch's columns in the imputer's order, so the rest of the branch (the scaler) sees what it was fitted on;
    indicators collects them (None: a branch that may not have them)."""
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
    if not np.isnan(imputer.missing_values) or (imputer.add_indicator and indicators is None):
        raise converters.Unconvertible(f"transformer '{name}' imputes other markers than NaN, or adds indicators")
    fills = dict(zip(used, imputer.statistics_.astype(np.float64), strict=True))
    if imputer.add_indicator:
        flagged = [(f"{used[i]}__missing", used[i]) for i in imputer.indicator_.features_]
        indicators += flagged
        used = [*used, *(input_name for input_name, _ in flagged)]
    columns.transformers_[index] = (name, rest, used)
    return fills


def to_onnx(plan, columns, model):
    """Two ONNX models: the twin ColumnTransformer (float64 in and out) and the estimator (on float32 features for
    tree classifiers and registered float32 families; float64 otherwise, tree regressors in double)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    inputs = [(name, DoubleTensorType([None, 1])) for name in (*plan.numeric, *plan.date_inputs)]
    inputs += [(name, DoubleTensorType([None, 1])) for name in (*plan.indicator_inputs, *plan.code_inputs)]
    inputs += [(column.name, StringTensorType([None, 1])) for column in plan.text]
    features = convert_sklearn(columns, initial_types=inputs, target_opset=OPSET)
    width = plan.width
    tensor = FloatTensorType if converters.input_dtype(model) == np.float32 else DoubleTensorType
    estimator = convert_sklearn(
        model,
        initial_types=[("features", tensor([None, width]))],
        options={id(model): converters.options(model)},
        target_opset=OPSET,
    )
    return features, estimator


def estimator_casts(model):
    """The dtypes the features matrix (float64) goes through for the estimator graph: to float32 for a float32
    graph; to float32 and back for a float64 graph of a model that compares float32 values (so that ONNX compares
    the values scikit-learn compares); none otherwise."""
    if converters.input_dtype(model) == np.float32:
        return (np.float32,)
    return (np.float32, np.float64) if converters.rounds_to_float32(model) else ()
