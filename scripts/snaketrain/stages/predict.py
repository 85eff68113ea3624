"""Score a CSV or Parquet file with the production model, after checking it against the model's input schema: by
the service's fast path (ONNX Runtime) when the version converts and agrees with scikit-learn on the file's own
rows, so that a row gets the same answer from `predict` and from the service, else by scikit-learn."""

from snaketrain.data_files import read_file
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.serving import fast_path
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import write_table

STAGE = "predict"
CHECK_ROWS = 10_000  # the most rows of the file the fast path is checked on (beside its own probe rows)


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


def predict_rows(loaded, df, engine="auto", where=None, check_rows=CHECK_ROWS, seed=0):
    """(Prediction, engine, why not the fast path): engine "auto" takes the fast path when onnxruntime and skl2onnx
    are installed and the version's conversion agrees with scikit-learn on a sample of the rows (at most
    check_rows) and on probe rows, as the service checks it; otherwise, or with engine "sklearn", scikit-learn."""
    checked, extra = inference.check_input(df, loaded.input_schema, STAGE, where)  # bad rows: named here, once
    missing = fast_path.missing_runtime() if engine == "auto" else []
    why = "predict.engine is sklearn" if engine != "auto" else None
    if missing:
        why = f"{', '.join(missing)} not installed (requirements-serve.txt)"
    if why is None:
        sample = df.sample(min(check_rows, len(df)), random_state=seed) if len(df) else None
        predictor = fast_path.build(loaded, "auto", sample)
        if predictor.fast:
            labels, probabilities = predictor.predict_frame(checked, loaded.task != "regression", STAGE, where)
            return inference.Prediction(labels, probabilities, loaded.classes, tuple(extra)), predictor.engine, None
        why = predictor.fallback_reason
    return inference.predict_checked(loaded, checked, extra, STAGE, where), "scikit-learn", why


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        migrated = registry.migrate(params.registry, params.name)
        if migrated:
            logger.warning("%s", migrated)
        loaded = inference.load_production(params.registry, params.name, stage=STAGE)
        df = read_input(input.data, params.delimiter, params.encoding)
        prediction, engine, why = predict_rows(loaded, df, params.engine, where=f"predict.input ({input.data})")
        if prediction.extra_columns:
            logger.warning(
                "ignoring %d column(s) the model does not use: %s",
                len(prediction.extra_columns),
                ", ".join(prediction.extra_columns),
            )
        result = scored_table(df, prediction)
        logger.info(
            "scored %d rows with production version %s of %s by %s%s",
            len(result),
            loaded.version,
            params.name,
            engine,
            f" ({why})" if why else "",
        )
        write_table(result, output.predictions)
