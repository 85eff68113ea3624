"""One inference path: load a registered version (sha256-verified), check rows against its recorded input
schema, transform them with its preprocessor, predict (and give class probabilities for classifiers).

predict (batch scoring), quality_gate (scoring the production model on the current test split) and the model
service all go through load_version / load_production and predict. The input check reports every problem at
once, one clear sentence each, so that a user (or an HTTP client) can fix them all in one go.
"""

from dataclasses import dataclass

from snaketrain import model_registry as registry
from snaketrain.preprocessing import transform
from snaketrain.stage_log import StageError
from snaketrain.table_io import read_joblib

# how many offending values an input problem quotes
EXAMPLES = 1


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


def check_input(df, input_schema, stage="predict", where=None):
    """The rows with numeric columns as numbers, and the extra columns (ignored); raises InputError listing
    every missing column and every column whose values cannot be read as the recorded kind."""
    import pandas as pd
    from pandas.api import types

    expected = input_schema["columns"]
    problems, bad_columns = [], []
    missing = [column for column in expected if column not in df.columns]
    if missing:
        problems.append(f"the input lacks {len(missing)} column(s) the model needs: {', '.join(missing)}")
    df = df.copy()
    for column, kind in expected.items():
        if column not in df.columns or kind != "numeric" or types.is_numeric_dtype(df[column]):
            continue
        values = df[column]
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
    if problems:
        # a single wrong column is named in "where" too, so the user looks at the right place
        column = bad_columns[0] if len(problems) == 1 and bad_columns else None
        raise InputError(stage, problems, expected, where, column)
    extra = [column for column in df.columns if column not in expected and column != input_schema["target"]]
    return df, extra


@dataclass(frozen=True)
class LoadedModel:
    """A verified registry version, ready to predict."""

    version: str
    metadata: dict
    model: object
    preprocessor: object

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


def load_version(root, version):
    """The version's model and preprocessor, after checking every file against its recorded sha256."""
    files = registry.verified_files(root, version)
    return LoadedModel(
        version=version,
        metadata=registry.metadata(root, version),
        model=read_joblib(files["model.joblib"]),
        preprocessor=read_joblib(files["preprocessor.joblib"]),
    )


def load_production(root, name=None, stage="predict"):
    """The production version (of the registered model name) in the registry at root; a StageError naming the
    fix when there is none."""
    current = registry.production(root, name)
    if not current:
        raise StageError(
            stage,
            f"no model is in production in {root}",
            "run the pipeline until a model passes the gate",
            str(root),
        )
    return load_version(root, current["version"])


def predict(loaded, df, stage="predict", where=None):
    """Check df against the version's input schema, transform it, predict; raises InputError on bad rows."""
    checked, extra = check_input(df, loaded.input_schema, stage, where)
    features = transform(loaded.preprocessor, checked, loaded.input_schema)
    labels = loaded.model.predict(features)
    probabilities = None
    if loaded.task != "regression" and hasattr(loaded.model, "predict_proba"):
        probabilities = loaded.model.predict_proba(features)
    return Prediction(labels, probabilities, loaded.classes, tuple(extra))


# JSON values the service's fast path takes as numbers (None is a missing value, imputed as in training)
_NUMBER_TYPES = frozenset({int, float, type(None)})


def numeric_matrix(columns, rows, input_schema):
    """The fast path of check_input for the model service: rows (lists of values, in the order of columns) as a
    float array in the order of the schema's columns, or None whenever check_input must look at them (a
    categorical schema, a missing column, a value that is not a JSON number or null, ragged rows). It accepts only
    what check_input accepts, so a None costs time, never a different answer."""
    import numpy as np

    expected = input_schema["columns"]
    if not rows or set(expected.values()) != {"numeric"}:
        return None
    width = len(columns)
    try:
        where = {column: position for position, column in enumerate(columns)}
        positions = [where[column] for column in expected]
        flat = [row[position] for row in rows if len(row) == width for position in positions]
    except (TypeError, IndexError, KeyError):
        return None
    # a ragged row was skipped above; any other type (text, true/false, lists) is check_input's to judge
    if len(flat) != len(rows) * len(positions) or not set(map(type, flat)) <= _NUMBER_TYPES:
        return None
    return np.array(flat, dtype=np.float64).reshape(len(rows), len(positions))


def numeric_records(records, input_schema):
    """numeric_matrix for records (a list of {column: value}); None whenever check_input must look at them."""
    expected = list(input_schema["columns"])
    try:
        rows = [[record[column] for column in expected] for record in records]
    except (KeyError, TypeError):
        return None
    return numeric_matrix(expected, rows, input_schema)
