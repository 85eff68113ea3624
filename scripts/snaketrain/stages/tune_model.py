"""Tune one model's hyperparameters by cross-validated grid, random or successive-halving search on the training features."""

import time
from contextlib import contextmanager
from math import floor, log

from sklearn.base import BaseEstimator, clone

from snaketrain.estimators import (
    VALIDATION_FRACTION,
    build_estimator,
    early_stopping_rounds,
    family_of,
    fit_with_early_stopping,
    halving_resource,
    resolve,
    search_space,
)
from snaketrain.model_metrics import describe_splits, positive_class, splits, tuning_scorer
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_csv, write_json

STAGE = "tune_model"
# columns of cv_results_ that hold timings: they differ from run to run, so they stay out of artifacts
TIMING_COLUMNS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


# Early stopping inside cross-validation: a boosted model whose fit holds out a seeded part of the rows it is given and
# stops adding rounds once that part has not improved for a while, so that a search's fits cost the rounds each
# candidate needs, not the family's whole budget. Each fit sees only its fold's training rows: the held-out part comes
# from them (stratified for classification), never from the fold it is scored on.
PREFIX = "estimator__"


class EarlyStopped(BaseEstimator):
    """estimator fitted with early stopping on `fraction` of its rows (seeded), `rounds` rounds without
    improvement; predicts with the rounds that were best."""

    def __init__(self, estimator, rounds=20, fraction=VALIDATION_FRACTION, seed=0, classification=True):
        self.estimator = estimator
        self.rounds = rounds
        self.fraction = fraction
        self.seed = seed
        self.classification = classification

    def fit(self, X, y):
        from sklearn.model_selection import train_test_split

        stratify = y if self.classification else None
        X_fit, X_valid, y_fit, y_valid = train_test_split(
            X, y, test_size=self.fraction, random_state=self.seed, stratify=stratify
        )
        model = clone(self.estimator)
        self.best_rounds_ = fit_with_early_stopping(model, X_fit, y_fit, X_valid, y_valid, self.rounds)
        self.estimator_ = model
        if hasattr(model, "classes_"):
            self.classes_ = model.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()


def early_stopping_search(estimator, space, rounds, seed, task):
    """(EarlyStopped estimator, its search space): the space's parameters are the inner estimator's."""
    wrapped = EarlyStopped(estimator, rounds=rounds, seed=seed, classification=task != "regression")
    return wrapped, {PREFIX + name: values for name, values in space.items()}


def inner_params(params):
    """A candidate's parameters as the inner estimator's names."""
    return {name.removeprefix(PREFIX): value for name, value in params.items()}


# progress: the candidates are evaluated in about this many batches, with a log line after each
PROGRESS_STEPS = 10


def batch_size(total, folds, workers):
    """Candidates per batch: about total / PROGRESS_STEPS, rounded up so that a batch's fits fill every worker."""
    size = max(1, -(-total // PROGRESS_STEPS))
    while (size * folds) % workers and size < total:
        size += 1
    return min(size, total) if total else 1


def _with_progress(search_class):
    """search_class whose candidates are evaluated in batches, reporting (done, total) after each.

    A custom _run_search (the documented extension point of BaseSearchCV) lists the same candidates as
    the stock one and passes consecutive slices to evaluate_candidates: cv_results_ are the same (same
    candidates, same order, same folds), and between slices there is a point to report progress.
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    class ProgressSearch(search_class):
        progress = None

        def _candidates(self):
            if hasattr(self, "param_grid"):
                return list(ParameterGrid(self.param_grid))
            return list(ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state))

        def _run_search(self, evaluate_candidates):
            candidates = self._candidates()
            total = len(candidates)
            size = batch_size(total, self.cv.get_n_splits(), self.n_jobs or 1)
            for start in range(0, total, size):
                evaluate_candidates(candidates[start : start + size])
                if self.progress is not None:
                    self.progress(min(start + size, total), total)

    ProgressSearch.__name__ = search_class.__name__
    return ProgressSearch


def _with_round_progress(search_class):
    """A successive-halving search_class reporting (rounds done, rounds) after each round.

    Successive halving evaluates all candidates on a small part of the data, keeps the best 1/factor of them
    for the next round on factor times as much data, and so on: its stock _run_search is kept, and each of
    its calls to evaluate_candidates (one per round) is followed by a progress report.
    """

    class RoundProgressSearch(search_class):
        progress = None

        def planned_rounds(self):
            """The rounds scikit-learn plans (n_iterations_, which it sets only after the last round)."""
            required = 1 + floor(log(self.n_candidates_[0], self.factor))
            possible = 1 + floor(log(self.max_resources_ // self.min_resources_, self.factor))
            return required if self.aggressive_elimination else min(possible, required)

        def _run_search(self, evaluate_candidates, *, callback_ctx=None):
            def evaluate_round(candidate_params, cv=None, more_results=None, **context):
                results = evaluate_candidates(candidate_params, cv, more_results=more_results, **context)
                if self.progress is not None:
                    self.progress(len(self.n_candidates_), self.planned_rounds())
                return results

            super()._run_search(evaluate_round, callback_ctx=callback_ctx)

    RoundProgressSearch.__name__ = search_class.__name__
    return RoundProgressSearch


def make_search(
    estimator,
    space,
    tuning,
    task,
    threads,
    progress=None,
    classes=None,
    resource=("n_samples", "auto"),
    positive=None,
    rows=None,
):
    """The configured search over space; rows: the training rows (above tuning.holdout_above, one holdout instead of
    cross-validation)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    scoring, _ = tuning_scorer(tuning["scoring"], task, classes, positive)
    folds = splits(task, tuning["cv"], tuning["seed"], rows, tuning.get("holdout_above"))
    common = {"scoring": scoring, "cv": folds, "n_jobs": threads, "refit": False, "error_score": "raise"}
    if tuning["method"] == "halving":
        # experimental in scikit-learn: the halving searches exist once this module is imported
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

        halving = {"factor": tuning["halving_factor"], "random_state": tuning["seed"], **common}
        halving.update(resource=resource[0], max_resources=resource[1])
        if any(hasattr(values, "rvs") for values in space.values()):
            search = _with_round_progress(HalvingRandomSearchCV)(
                estimator, space, n_candidates=tuning["n_iter"], **halving
            )
        else:
            search = _with_round_progress(HalvingGridSearchCV)(estimator, space, **halving)
    elif tuning["method"] == "random":
        search = _with_progress(RandomizedSearchCV)(
            estimator, space, n_iter=tuning["n_iter"], random_state=tuning["seed"], **common
        )
    else:
        search = _with_progress(GridSearchCV)(estimator, space, **common)
    search.progress = progress
    return search


@contextmanager
def parallel_fits(threads):
    """Run the search's fits on threads of this process, each fit with one BLAS thread.

    Threads, not joblib's default loky processes: the fits of scikit-learn's estimators spend their time in code
    that releases the GIL (BLAS, Cython, OpenMP), and worker processes would cost a Python start and the
    scikit-learn imports per job (seconds, measured in bench/README.md) and a copy of the data. One BLAS thread
    per fit, because concurrent fits that each start a BLAS thread pool oversubscribe the cores.
    """
    if threads <= 1:
        yield
        return
    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    with parallel_config(backend="threading"), threadpool_limits(limits=1, user_api="blas"):
        yield


def check_folds(cv, y, task):
    """Explain a tuning.cv that the training rows cannot fill: every fold needs a row (of every class)."""
    if task == "regression":
        smallest, what = len(y), "training rows"
    else:
        counts = y.value_counts()
        smallest, what = int(counts.min()), f"training rows of class {_plain(counts.idxmin())!r}"
    if cv <= smallest:
        return
    raise StageError(
        STAGE,
        f"tuning.cv is {cv}, but there are only {smallest} {what}: each of the {cv} cross-validation folds needs "
        + ("a row" if task == "regression" else "a row of every class"),
        (f"set tuning.cv to at most {smallest}, or supply more rows" if smallest >= 2 else "supply more rows")
        + ("" if task == "regression" else " of that class (or lower split.test_size)"),
        "config key tuning.cv",
    )


def tune(name, spec, tuning, task, X, y, threads=1, progress=None, configured_positive=None):
    """Best parameters, best CV score, scorer name and the CV table (without timings). configured_positive:
    data.positive_class (None: the rare class of y on a binary task)."""
    import pandas as pd

    check_folds(tuning["cv"], y, task)
    spec = resolve(name, spec, task)  # the family's defaults under the config's entry
    space = search_space(spec, tuning["method"])
    # the search parallelises over candidates, so each fit uses one thread
    estimator = build_estimator(name, spec, task, tuning["seed"], threads=1)
    if not space:
        return {}, None, None, pd.DataFrame()
    classes = None if task == "regression" else list(pd.unique(y))
    positive = _positive(task, y, configured_positive)
    resource = halving_resource(name, spec, estimator) if tuning["method"] == "halving" else ("n_samples", "auto")
    searched = set(space)
    stopped = early_stopped(spec, tuning["method"], resource)
    if stopped:
        # a boosted family's fits stop early, each on a seeded tenth of its fold's training rows, as train_model does
        estimator, space = early_stopping_search(estimator, space, stopped, tuning["seed"], task)
    search = make_search(estimator, space, tuning, task, threads, progress, classes, resource, positive, len(y))
    try:
        with parallel_fits(threads):
            search.fit(X, y)
    except ValueError as error:
        raise StageError(
            STAGE,
            f"model '{name}' could not be fitted: {error}",
            "check its params and search_space",
            f"estimators.{name}",
        ) from None
    table = pd.DataFrame(search.cv_results_).drop(columns=list(TIMING_COLUMNS), errors="ignore")
    candidates = [_inner(params, stopped) for params in search.cv_results_["params"]]
    table["params"] = [repr(sorted(params.items())) for params in candidates]
    if stopped:
        table = table.rename(columns=lambda column: column.replace("param_estimator__", "param_", 1))
    best_index = int(search.best_index_)
    # a halving resource other than rows (e.g. max_iter) is the last round's budget, not a tuned parameter:
    # the model is trained with its configured value
    best_params = {k: _plain(v) for k, v in candidates[best_index].items() if k in searched}
    _, scoring_name = tuning_scorer(tuning["scoring"], task, classes, positive)
    return best_params, float(search.best_score_), scoring_name, table


def early_stopped(spec, method, resource):
    """Rounds without improvement after which each search fit stops (0: none): a boosted family's early stopping,
    unless successive halving gives out its rounds itself."""
    family = family_of(spec["estimator"])
    if not family or not family.rounds or (method == "halving" and resource[0] == family.rounds):
        return 0
    return early_stopping_rounds(spec)


def _inner(params, stopped):
    return inner_params(params) if stopped else params


def _positive(task, y, configured):
    if task != "binary":
        return None
    try:
        return positive_class(y, configured)
    except ValueError as error:
        raise StageError(
            STAGE, str(error), "name one of those classes, or null for the rare one", "data.positive_class"
        ) from None


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        schema = read_json(input.schema)
        task, target = schema["task"], schema["target"]
        train = read_table(input.train)
        X, y = train.drop(columns=[target]), train[target]
        held_out = describe_splits(params.tuning["cv"], len(y), params.tuning.get("holdout_above"))
        logger.info(
            "model %s: %d rows x %d features, task %s, %s search with %d threads, each candidate scored by %s",
            params.model,
            *X.shape,
            task,
            params.tuning["method"],
            threads,
            held_out,
        )
        started = time.perf_counter()

        # successive halving reports its rounds (each on more data, with fewer candidates), the others candidates
        unit = "halving rounds" if params.tuning["method"] == "halving" else "candidates"

        def progress(done, total):
            logger.info(
                "tuning %s: %d of %d %s done, %.1f s",
                params.model,
                done,
                total,
                unit,
                time.perf_counter() - started,
            )

        best, score, scoring, table = tune(
            params.model, params.spec, params.tuning, task, X, y, threads, progress, params.positive_class
        )
        logger.info("%d candidates; best %s = %s with %s", len(table), scoring, score, best)
        write_csv(table, output.cv_results)
        write_json(
            {
                "model": params.model,
                "best_params": best,
                "cv_score": score,
                "scoring": scoring,
                "candidates": len(table),
            },
            output.best_params,
        )
