"""Score a CSV or Parquet file with the production model, after checking it against the model's input schema."""

from snaketrain import inference
from snaketrain.data_files import read_file
from snaketrain.stage_log import stage_logging
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
        loaded = inference.load_production(params.registry, stage=STAGE)
        df = read_input(input.data, params.delimiter, params.encoding)
        prediction = inference.predict(loaded, df, STAGE, where=f"predict.input ({input.data})")
        if prediction.extra_columns:
            logger.warning(
                "ignoring %d column(s) the model does not use: %s",
                len(prediction.extra_columns),
                ", ".join(prediction.extra_columns),
            )
        result = scored_table(df, prediction)
        logger.info("scored %d rows with production version %s", len(result), loaded.version)
        write_table(result, output.predictions)
