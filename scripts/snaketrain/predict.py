"""Score a CSV or Parquet file with the production model, after checking it against the model's input schema."""

from pathlib import Path

from snaketrain import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_joblib, write_table

STAGE = "predict"


def read_input(path, delimiter=",", encoding="utf-8"):
    from snaketrain.acquire_data import file_format, parse_table

    path = Path(path)
    if not path.is_file():
        raise StageError(
            STAGE, f"input file '{path}' does not exist", "set predict.input to the file to score", "predict.input"
        )
    return parse_table(path.read_bytes(), file_format(path.name, "auto"), delimiter, encoding, where=str(path))


def check_columns(df, schema, where="predict.input"):
    """Raise on missing columns or values of the wrong kind; return the extra columns (ignored)."""
    from pandas.api import types

    expected = schema["columns"]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise StageError(
            STAGE,
            f"the input lacks {len(missing)} column(s) the model needs: {', '.join(missing)}",
            "add them to the file (the model was trained with: " + ", ".join(expected) + ")",
            where,
        )
    for column, kind in expected.items():
        if kind == "numeric" and not types.is_numeric_dtype(df[column]):
            import pandas as pd

            converted = pd.to_numeric(df[column], errors="coerce")
            bad = df[column][converted.isna() & df[column].notna()]
            if len(bad):
                raise StageError(
                    STAGE,
                    f"column '{column}' must be numeric but holds {bad.iloc[0]!r} (row {bad.index[0]})",
                    "fix or remove the non-numeric values",
                    f"{where}, column {column}",
                )
            df[column] = converted
    return [c for c in df.columns if c not in expected and c != schema["target"]]


def predict(model, preprocessor, df, schema):
    from snaketrain.build_features import transform

    features = transform(preprocessor, df, schema)
    result = df.copy()
    result["prediction"] = model.predict(features)
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(features)
        for index, label in enumerate(model.classes_):
            result[f"proba_{label}"] = probabilities[:, index]
    return result


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE) as logger:
        current = registry.production(params.registry)
        if not current:
            raise StageError(
                STAGE,
                f"no model is in production in {params.registry}",
                "run the pipeline until a model passes the gate",
                params.registry,
            )
        version = current["version"]
        files = registry.verified_files(params.registry, version)
        schema = registry.metadata(params.registry, version)["input_schema"]
        df = read_input(input.data, params.delimiter, params.encoding)
        extra = check_columns(df, schema, where=f"predict.input ({input.data})")
        if extra:
            logger.warning("ignoring %d column(s) the model does not use: %s", len(extra), ", ".join(extra))
        result = predict(read_joblib(files["model.joblib"]), read_joblib(files["preprocessor.joblib"]), df, schema)
        logger.info("scored %d rows with production version %s", len(result), version)
        write_table(result, output.predictions)
