"""One inference path: load a registered version (sha256-verified), check rows against its recorded input
schema, predict with its fitted Pipeline (preprocessor + estimator; class probabilities for classifiers).

Loading never runs code from a file: a version's Pipeline is stored with skops (save_pipeline) and loaded with
an explicit list of trusted types (TRUSTED_TYPES, on top of the types skops trusts by default: scikit-learn's
estimators, numpy and scipy containers). A file that is not a skops file (a pickle, say) or holds any other type
is refused before anything in it is built. The joblib files a version also holds are never loaded here.

predict (batch scoring), quality_gate (scoring the production model on the current test split) and the model
service all go through load_version / load_production and predict. The input check reports every problem at
once, one clear sentence each, so that a user (or an HTTP client) can fix them all in one go.
"""

import io
import json
import zipfile
from dataclasses import dataclass

from snaketrain import custom_features
from snaketrain.estimators import SHORT_NAMES, family_of, library_version
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError
from snaketrain.table_io import write_bytes

# how many offending values an input problem quotes
EXAMPLES = 1
PIPELINE_FILE = registry.PIPELINE_FILE
# Types any registered Pipeline may hold beyond skops' defaults: scikit-learn's own fitted parts (trees,
# histogram-boosting predictors, neighbour search structures) and our text conversion step. A family from another
# library adds the types its files hold (estimators.FAMILIES[...].trusted_types), for versions of that family only.
# Loading refuses any other type, so a file written by someone else cannot make us build anything else.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.model_selection._split.KFold",
    "snaketrain.preprocessing.as_text",
    "snaketrain.preprocessing.calendar_features",
    "snaketrain.preprocessing.calendar_feature_names",
    "snaketrain.preprocessing.filled_text",
)


def trusted_types(estimator):
    """The types a Pipeline of this estimator (a config short name or class path) may hold: TRUSTED_TYPES plus
    its family's own."""
    family = family_of(estimator) if estimator else None
    return TRUSTED_TYPES + (family.trusted_types if family else ())


def estimator_of(metadata):
    """The estimator (short name or class path) a version's metadata records, or None."""
    spec = metadata.get("estimator")
    return spec.get("estimator") if isinstance(spec, dict) else None


class InputError(StageError):
    """Rows that do not fit the model's recorded input schema; .problems lists each problem in one sentence."""

    def __init__(self, stage, problems, expected, where=None, column=None):
        self.problems = list(problems)
        problem = (
            self.problems[0] if len(self.problems) == 1 else f"{len(self.problems)} problems: " + "; ".join(problems)
        )
        if column and where:
            where = f"{where}, column {column}"
        super().__init__(
            stage,
            problem,
            "fix the rows: the model was trained with "
            + ", ".join(f"{name} ({kind})" for name, kind in expected.items()),
            where,
        )


def check_input(df, input_schema, stage="predict", where=None, dates=None):
    """The rows with numeric columns as numbers, and the extra columns (ignored); raises InputError listing
    every missing column and every column whose values cannot be read as the recorded kind. dates ({column: format},
    as preprocessing.calendar_features parses them) names date columns whose values must parse too."""
    import pandas as pd
    from pandas.api import types

    expected = input_schema["columns"]
    problems, bad_columns = [], []
    missing = [column for column in expected if column not in df.columns]
    if missing:
        problems.append(f"the input lacks {len(missing)} column(s) the model needs: {', '.join(missing)}")
    df = df.copy()
    for column, kind in expected.items():
        values = df.get(column)
        # pandas counts true/false as numeric: they are not numbers a model was trained on
        if values is None or kind != "numeric" or (types.is_numeric_dtype(values) and not types.is_bool_dtype(values)):
            continue
        if types.is_bool_dtype(values):
            problems.append(f"column '{column}' must be numeric but holds true/false values")
            bad_columns.append(column)
            continue
        converted = pd.to_numeric(values, errors="coerce")
        bad = values[converted.isna() & values.notna() & (values.astype(str).str.strip() != "")]
        if len(bad):
            problems.append(
                f"column '{column}' must be numeric but holds {bad.iloc[0]!r} (row {bad.index[0]}"
                + (f", and {len(bad) - 1} more row(s))" if len(bad) > 1 else ")")
            )
            bad_columns.append(column)
            continue
        df[column] = converted
    for column, fmt in (dates or {}).items():
        problem = _unreadable_date(df.get(column), column, fmt)
        if problem:
            problems.append(problem)
            bad_columns.append(column)
    if problems:
        # a single wrong column is named in "where" too, so the user looks at the right place
        column = bad_columns[0] if len(problems) == 1 and bad_columns else None
        raise InputError(stage, problems, expected, where, column)
    extra = [column for column in df.columns if column not in expected and column != input_schema["target"]]
    return df, extra


def _unreadable_date(values, column, fmt):
    """The problem with a date column holding a value that does not parse in its format (a non-date, or a day the
    calendar lacks such as 2020-02-30), or None; missing and blank values are missing dates, not problems."""
    import pandas as pd
    from pandas.api import types

    if values is None or types.is_datetime64_any_dtype(values):
        return None
    try:
        parsed = pd.to_datetime(values.astype("string"), format=fmt, errors="coerce")
    except (ValueError, TypeError):  # e.g. mixed time zones: calendar_features decides, as without this check
        return None
    bad = values[parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")]
    if not len(bad):
        return None
    form = "ISO 8601" if fmt == "ISO8601" else fmt
    return f"column '{column}' must be a date ({form}) but holds {bad.iloc[0]!r} (row {bad.index[0]}" + (
        f", and {len(bad) - 1} more row(s))" if len(bad) > 1 else ")"
    )


@dataclass(frozen=True)
class LoadedModel:
    """A verified registry version, ready to predict: .pipeline predicts from the raw input columns."""

    version: str
    metadata: dict
    pipeline: object
    features: object = None  # the user's feature function (features.custom), applied before the pipeline

    @property
    def name(self):
        return self.metadata.get("name")

    @property
    def model(self):
        return self.pipeline.named_steps["model"]

    @property
    def preprocessor(self):
        return self.pipeline.named_steps["preprocess"]

    @property
    def task(self):
        return self.metadata["task"]

    @property
    def input_schema(self):
        return self.metadata["input_schema"]

    @property
    def classes(self):
        return list(getattr(self.model, "classes_", [])) or None


@dataclass(frozen=True)
class Prediction:
    """Predictions for checked rows; probabilities (rows x classes) only for classifiers that give them."""

    labels: object
    probabilities: object = None
    classes: list = None
    extra_columns: tuple = ()


def make_pipeline(preprocessor, model):
    """The one-file form of a model: its fitted preprocessor and estimator as a scikit-learn Pipeline."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("preprocess", preprocessor), ("model", model)])


def pipeline_bytes(pipeline, trusted=TRUSTED_TYPES, stage="register_model"):
    """The Pipeline as skops bytes, the same bytes for the same fitted Pipeline (see _canonical_skops)."""
    import skops.io

    data = _canonical_skops(skops.io.dumps(pipeline))
    unknown = sorted(set(skops.io.get_untrusted_types(data=data)) - set(trusted))
    if unknown:
        raise StageError(
            stage,
            f"the model holds types that snaketrain does not load from a registry: {', '.join(unknown)}",
            "use an estimator family of the catalogue (estimators.<model>.estimator: "
            + ", ".join(SHORT_NAMES)
            + "); a family's trusted types are declared beside it in snaketrain/estimators.py",
            "estimators",
        )
    return data


def save_pipeline(pipeline, path, trusted=TRUSTED_TYPES):
    write_bytes(pipeline_bytes(pipeline, trusted), path)


def _canonical_skops(data):
    """skops' zip with deterministic bytes: member names and object ids numbered in the order they appear
    (skops uses memory addresses), padding bytes of structured arrays zeroed (a tree's node table carries
    uninitialised padding), fixed timestamps, sorted members, deflate-compressed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    members = {}
    count = 0

    def walk(node):
        nonlocal count
        if isinstance(node, list):
            return [walk(value) for value in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key in sorted(node):
            value = node[key]
            if key == "__id__":
                count += 1
                out[key] = count
            elif key == "file" and isinstance(value, str):
                count += 1
                name = f"{count}{value[value.rfind('.') :]}"
                content = source.read(value)
                members[name] = _without_padding(content) if name.endswith(".npy") else content
                out[key] = name
            else:
                out[key] = walk(value)
        return out

    schema = walk(json.loads(source.read("schema.json")))
    members["schema.json"] = json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, members[name], compresslevel=6)
    return buffer.getvalue()


def _without_padding(npy):
    import numpy as np

    array = np.load(io.BytesIO(npy), allow_pickle=False)
    if array.dtype.names is None:
        return npy
    clean = np.zeros(array.shape, array.dtype)
    for field in array.dtype.names:
        clean[field] = array[field]
    buffer = io.BytesIO()
    np.save(buffer, clean, allow_pickle=False)
    return buffer.getvalue()


def read_pipeline(path, stage="predict", trusted=TRUSTED_TYPES):
    """The Pipeline stored at path by save_pipeline; refuses (StageError) anything that is not a skops file of
    trusted types, before building any object from it."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, json.JSONDecodeError) as error:
        raise StageError(
            stage,
            f"{path} is not a model file in the safe (skops) format: refused without loading it "
            f"({type(error).__name__})",
            "register the model again by rerunning the pipeline; never copy pickle or joblib files into a registry",
            str(path),
        ) from None
    unknown = sorted(set(untrusted) - set(trusted))
    if unknown:
        raise StageError(
            stage,
            f"{path} holds types that are not trusted: {', '.join(unknown)}; refused without loading it",
            "register the model again by rerunning the pipeline",
            str(path),
        )
    return skops.io.load(path, trusted=list(trusted))


def load_version(root, version, name, stage="predict", project="."):
    """The version's Pipeline (safely loaded), after checking every file against its recorded sha256."""
    files = registry.verified_files(root, version, name)
    if PIPELINE_FILE not in files:
        raise StageError(
            stage,
            f"version {version} of model '{name}' was registered before models were stored safely: it holds only "
            "joblib files, which can run code when loaded, so snaketrain does not load it",
            "rerun the pipeline to register a new version of this model (the old one stays in the registry)",
            str(registry.version_dir(root, version, name)),
        )
    metadata = registry.metadata(root, version, name)
    warn_on_other_library(metadata, version)
    recorded = metadata.get("custom_features")
    return LoadedModel(
        version=version,
        metadata=metadata,
        pipeline=read_pipeline(files[PIPELINE_FILE], stage, trusted_types(estimator_of(metadata))),
        # the user's feature code, from the project directory, refused if it changed since training
        features=custom_features.check_unchanged(recorded, project, stage, version) if recorded else None,
    )


def warn_on_other_library(metadata, version):
    """A warning (Python's warnings, which each stage logs) when the model's library is installed here in another
    major version than the one that trained it: its files may load but predict differently, or not load."""
    import warnings

    recorded = metadata.get("estimator_library") or {}
    name, trained = recorded.get("name"), recorded.get("version")
    if not name or not trained:
        return
    installed = library_version(name)
    if installed and installed.split(".")[0] != trained.split(".")[0]:
        warnings.warn(
            f"version {version} was trained with {name} {trained}; {name} {installed} is installed here (another "
            f"major version): predictions may differ. Install {name}=={trained} or register the model again",
            stacklevel=2,
        )


def load_production(root, name, stage="predict", project="."):
    """The production version of the registered model name in the registry at root; a StageError naming the
    fix when there is none."""
    current = registry.production(root, name)
    if not current:
        others = [other for other in registry.names(root) if other != name]
        raise StageError(
            stage,
            f"model '{name}' has no version in production in {root}",
            "run the pipeline until a model passes the gate"
            + (f"; names with models in this registry: {', '.join(others)}" if others else ""),
            str(root),
        )
    return load_version(root, current["version"], name, stage, project)


def predict(loaded, df, stage="predict", where=None):
    """Check df against the version's input schema and predict with its Pipeline; raises InputError on bad rows."""
    checked, extra = check_input(df, loaded.input_schema, stage, where)
    return predict_checked(loaded, checked, extra, stage, where)


def predict_checked(loaded, checked, extra=(), stage="predict", where=None):
    """predict for rows that passed check_input (extra: the columns it set aside)."""
    if loaded.features is not None:
        checked = custom_features.apply(loaded.features, checked[list(loaded.input_schema["columns"])], stage, where)
    # in the order the Pipeline was fitted with (the recorded schema's JSON keys are sorted)
    rows = checked[list(loaded.pipeline.feature_names_in_)]
    labels = loaded.pipeline.predict(rows)
    probabilities = None
    if loaded.task != "regression" and hasattr(loaded.pipeline, "predict_proba"):
        probabilities = loaded.pipeline.predict_proba(rows)
    return Prediction(labels, probabilities, loaded.classes, tuple(extra))
