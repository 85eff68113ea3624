"""Resolve one model's estimator for the task that validation found, and check it before anything trains.

With `data.task: auto` the task is known only once validate_data has run: this is the first moment a model with
no form for it (logistic_regression on a regression target) or a family that is not installed can be refused.
It is its own job, without retries, so that a config error stops the run once, with its explanation.
"""

from snaketrain.estimators import check_spec, early_stopping_rounds, family_of, library_version, resolve
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, write_json

STAGE = "resolve_estimator"


def resolved_estimator(name, spec, task):
    """The model's complete entry for the task (class path, params, search space, halving and early stopping) and
    the library that provides it; raises StageError (a config error) when it cannot train."""
    resolved = resolve(name, spec, task)
    cls = check_spec(name, resolved, task)
    family = family_of(resolved["estimator"])
    top = family.package if family else cls.__module__.split(".")[0]
    rounds = early_stopping_rounds(resolved)
    if rounds and not (family and family.early_stopping):
        raise StageError(
            "config",
            f"model '{name}' sets early_stopping_rounds, but {cls.__name__} has no early stopping that snaketrain "
            "drives",
            "remove early_stopping_rounds (XGBoost, LightGBM and CatBoost take it; hist_gradient_boosting stops "
            "early by itself: params.early_stopping)",
            where=f"estimators.{name}.early_stopping_rounds",
        )
    return {
        "model": name,
        "task": task,
        **resolved,
        "early_stopping_rounds": rounds,
        "library": {"name": top, "version": library_version(top)},
    }


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        task = read_json(input.validation)["task"]
        entry = resolved_estimator(params.model, params.spec, task)
        logger.info(
            "model %s: %s (%s %s) for %s, params %s, search space %s",
            params.model,
            entry["estimator"],
            entry["library"]["name"],
            entry["library"]["version"],
            task,
            entry["params"],
            entry["search_space"],
        )
        write_json(entry, output.estimator)
