"""Fit one model with its tuned parameters on the whole training split (boosted families: early-stopped first on a
held-out part of the training split, then refitted on all of it with the rounds that were best). On a binary task
the decision threshold is then chosen by cross-validation on the training split to maximise F1 of the positive
class, and kept inside the fitted model (snaketrain.estimators (the decision threshold))."""

import time

from snaketrain import estimators
from snaketrain.estimators import (
    VALIDATION_FRACTION,
    build_estimator,
    early_stopping_rounds,
    family_of,
    fit_with_early_stopping,
    resolve,
    without_threads,
)
from snaketrain.model_metrics import describe_splits, positive_class
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_joblib

STAGE = "train_model"


def best_rounds(name, spec, best_params, task, seed, X, y, threads, rounds):
    """How many boosting rounds early stopping keeps, on a seeded held-out part of the training split (stratified
    for classification); the test split is never seen."""
    from sklearn.model_selection import train_test_split

    stratify = None if task == "regression" else y
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X, y, test_size=VALIDATION_FRACTION, random_state=seed, stratify=stratify
    )
    model = build_estimator(name, spec, task, seed, threads=threads, extra_params=best_params)
    return fit_with_early_stopping(model, X_fit, y_fit, X_valid, y_valid, rounds)


def train(name, spec, best_params, task, seed, X, y, threads=1, logger=None, threshold=None):
    """The fitted model; threshold: {"positive": class, "folds": n, "holdout_above": rows or None} to tune a binary
    decision threshold (None: no threshold, the estimator's own predict)."""
    spec = resolve(name, spec, task)
    family = family_of(spec["estimator"])
    rounds = early_stopping_rounds(spec)
    best_params = dict(best_params)
    if rounds and family and family.rounds and family.rounds not in best_params:
        kept = best_rounds(name, spec, best_params, task, seed, X, y, threads, rounds)
        if logger:
            budget = spec["params"].get(family.rounds)
            logger.info(
                "early stopping (%d rounds without improvement on %.0f%% of the training split): %d of %s %s",
                rounds,
                VALIDATION_FRACTION * 100,
                kept,
                budget,
                family.rounds,
            )
        best_params[family.rounds] = kept
    model = build_estimator(name, spec, task, seed, threads=threads, extra_params=best_params)
    if threshold is None:
        return without_threads(model.fit(X, y))
    tuned = estimators.tune_threshold(
        model, X, y, threshold["positive"], threshold["folds"], seed, holdout_above=threshold.get("holdout_above")
    )
    fitted = without_threads(estimators.inner_estimator(tuned))
    return estimators.fixed_threshold(fitted, tuned.threshold, threshold["positive"], X, y)


def threshold_settings(task, y, configured, folds, holdout_above=None):
    """What train tunes the decision threshold for: {"positive", "folds", "holdout_above"} on a binary task (None
    without two rows of each class: the estimator's own labels)."""
    if task != "binary":
        return None
    try:
        positive = positive_class(y, configured)
    except ValueError as error:
        raise StageError(
            STAGE, str(error), "name one of those classes, or null for the rare one", "data.positive_class"
        ) from None
    # every fold needs a row of each class (tune_model checks tuning.cv, but not for a model with nothing to tune)
    folds = min(folds, int(y.value_counts().min()))
    return {"positive": positive, "folds": folds, "holdout_above": holdout_above} if folds >= 2 else None


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        schema, tuned = read_json(input.schema), read_json(input.best_params)
        train_set = read_table(input.train)
        X, y = train_set.drop(columns=[schema["target"]]), train_set[schema["target"]]
        logger.info("read %d rows x %d features from %s", *X.shape, input.train)
        threshold = threshold_settings(schema["task"], y, params.positive_class, params.folds, params.holdout_above)
        started = time.perf_counter()
        model = train(
            params.model,
            params.spec,
            tuned["best_params"],
            schema["task"],
            params.seed,
            X,
            y,
            threads,
            logger,
            threshold,
        )
        logger.info(
            "fitted %s on %d rows with %s in %.2f s",
            type(estimators.inner_estimator(model)).__name__,
            len(X),
            tuned["best_params"],
            time.perf_counter() - started,
        )
        chosen = estimators.threshold_rule(model)
        if chosen:
            logger.info(
                "decision threshold %s on %s for positive class %r, chosen by %s to maximise its F1",
                chosen["threshold"],
                chosen["response"],
                chosen["positive_class"],
                describe_splits(threshold["folds"], len(y), threshold["holdout_above"]),
            )
        write_joblib(model, output.model)
