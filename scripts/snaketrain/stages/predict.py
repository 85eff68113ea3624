"""Score a CSV or Parquet file with the production model, after checking it against the model's input schema."""

from pathlib import Path

from snaketrain.data_files import read_file
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import write_table

STAGE = "predict"


def read_input(path, delimiter=",", encoding="utf-8"):
    return read_file(path, "auto", delimiter, encoding, STAGE, "predict.input", what="input file")


def scored_table(df, prediction):
    """The input rows with a prediction column and, for classifiers, one proba_<class> column per class."""
    result = df.copy()
    result["prediction"] = prediction.labels
    if prediction.probabilities is not None:
        for index, label in enumerate(prediction.classes):
            result[f"proba_{label}"] = prediction.probabilities[:, index]
    return result


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        migrated = registry.migrate(params.registry, params.name)
        if migrated:
            logger.warning("%s", migrated)
        loaded = inference.load_production(params.registry, params.name, stage=STAGE)
        df = read_input(input.data, params.delimiter, params.encoding)
        prediction = inference.predict(loaded, df, STAGE, where=f"predict.input ({input.data})")
        if prediction.extra_columns:
            logger.warning(
                "ignoring %d column(s) the model does not use: %s",
                len(prediction.extra_columns),
                ", ".join(prediction.extra_columns),
            )
        result = scored_table(df, prediction)
        logger.info("scored %d rows with production version %s of %s", len(result), loaded.version, params.name)
        write_table(result, output.predictions)


# ---- the rule's input functions: a missing input is explained before the job is planned


def predict_input_path(configured):
    if not configured:
        raise StageError(
            STAGE,
            "no file to score",
            "set predict.input in the config, e.g. --config predict='{input: new.csv}'",
            "config key predict.input",
        )
    return configured


def existing_production_path(registry_root, name):
    pointer = registry.production_path(registry_root, name)
    if pointer.is_file():
        return str(pointer)
    flat = Path(registry_root) / "production.json"
    if flat.is_file():
        return str(flat)  # a registry in the flat layout: predict moves it under its names first
    raise StageError(
        STAGE,
        f"no model is in production in the registry '{registry_root}' for the name '{name}'",
        "run the pipeline (snakemake --cores 4) until a model passes the quality gate, "
        "or point registry.path (and registry.model_name) at the registry and name of your production model",
        str(pointer),
    )
