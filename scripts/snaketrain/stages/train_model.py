"""Fit one model with its tuned parameters on the whole training split."""

from snaketrain.estimators import build_estimator, without_threads
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, read_table, write_joblib

STAGE = "train_model"


def train(name, spec, best_params, task, seed, X, y, threads=1):
    model = build_estimator(name, spec, task, seed, threads=threads, extra_params=best_params)
    return without_threads(model.fit(X, y))


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        schema, tuned = read_json(input.schema), read_json(input.best_params)
        train_set = read_table(input.train)
        X, y = train_set.drop(columns=[schema["target"]]), train_set[schema["target"]]
        logger.info("read %d rows x %d features from %s", *X.shape, input.train)
        model = train(params.model, params.spec, tuned["best_params"], schema["task"], params.seed, X, y, threads)
        logger.info("fitted %s on %d rows with %s", type(model).__name__, len(X), tuned["best_params"])
        write_joblib(model, output.model)
