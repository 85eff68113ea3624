"""The estimator factory: config entries become scikit-learn-compatible estimators and search spaces."""

import importlib
import importlib.util
import inspect

from snaketrain.stage_log import StageError

# short name -> (classifier, regressor); None where the family has no such member
SHORT_NAMES = {
    "logistic_regression": ("sklearn.linear_model.LogisticRegression", None),
    "ridge": ("sklearn.linear_model.RidgeClassifier", "sklearn.linear_model.Ridge"),
    "linear_regression": (None, "sklearn.linear_model.LinearRegression"),
    "random_forest": (
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.ensemble.RandomForestRegressor",
    ),
    "extra_trees": (
        "sklearn.ensemble.ExtraTreesClassifier",
        "sklearn.ensemble.ExtraTreesRegressor",
    ),
    "gradient_boosting": (
        "sklearn.ensemble.GradientBoostingClassifier",
        "sklearn.ensemble.GradientBoostingRegressor",
    ),
    "hist_gradient_boosting": (
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
    ),
    "knn": ("sklearn.neighbors.KNeighborsClassifier", "sklearn.neighbors.KNeighborsRegressor"),
    "svm": ("sklearn.svm.SVC", "sklearn.svm.SVR"),
}

# What successive halving gives more of in each round when the config names no halving_resource: training rows,
# except for tree ensembles, whose trees (boosting iterations) it caps instead, so that every round sees all rows.
# On 50,000 rows (bench/README.md, "Tuning"): HistGradientBoosting halved by rows took 1.09x grid search's time
# (above 10,000 rows it stops early by itself, so only its fits on few rows run every iteration), by iterations
# 0.44x; a random forest by rows 0.52x, by trees 0.43x, with the same parameters chosen.
HALVING_RESOURCES = {
    "random_forest": "n_estimators",
    "extra_trees": "n_estimators",
    "gradient_boosting": "n_estimators",
    "hist_gradient_boosting": "max_iter",
}

# estimators that parallelise internally through an n_jobs parameter get the job's threads ...
_THREADED_PARAM = "n_jobs"
# ... except those where scikit-learn deprecated it as having no effect (it warns when set)
_N_JOBS_WITHOUT_EFFECT = frozenset({"LogisticRegression"})


def class_path(name, spec, task):
    """Resolve a model's estimator to a dotted class path for the task ('binary', 'multiclass', 'regression')."""
    estimator = spec["estimator"]
    if estimator in SHORT_NAMES:
        classifier, regressor = SHORT_NAMES[estimator]
        path = regressor if task == "regression" else classifier
        if path is None:
            kind = "regression" if task == "regression" else "classification"
            raise StageError(
                "config",
                f"estimator '{estimator}' of model '{name}' has no {kind} form",
                f"use one of {', '.join(n for n, p in SHORT_NAMES.items() if p[task == 'regression'])} "
                f"for {kind}, or list another model in `models`",
                where=f"estimators.{name}.estimator",
            )
        return path
    if "." not in estimator:
        raise StageError(
            "config",
            f"unknown estimator '{estimator}' for model '{name}'",
            f"use a short name ({', '.join(SHORT_NAMES)}) or a dotted class path such as xgboost.XGBClassifier",
            where=f"estimators.{name}.estimator",
        )
    return estimator


def load_class(name, path):
    module_name, _, class_name = path.rpartition(".")
    top = module_name.split(".")[0]
    if importlib.util.find_spec(top) is None:
        raise StageError(
            "config",
            f"model '{name}' needs the package '{top}', which is not installed",
            f"install it (pip install {top}) or remove '{name}' from `models`",
            where=f"estimators.{name}.estimator",
        )
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise StageError(
            "config",
            f"estimator class '{path}' of model '{name}' does not exist",
            "check the spelling of the module and class name",
            where=f"estimators.{name}.estimator",
        ) from None


def check_spec(name, spec, task):
    """Raise StageError unless the estimator exists and knows every fixed and searched parameter."""
    cls = load_class(name, class_path(name, spec, task))
    known = set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}
    for section in ("params", "search_space"):
        unknown = sorted(set(spec.get(section) or {}) - known)
        if unknown:
            raise StageError(
                "config",
                f"{cls.__name__} has no parameter {', '.join(map(repr, unknown))} (model '{name}')",
                f"use parameters that {cls.__name__} accepts: {', '.join(sorted(known))}",
                where=f"estimators.{name}.{section}",
            )
    return cls


def build_estimator(name, spec, task, seed, threads=1, extra_params=None):
    """An unfitted estimator with the fixed params, extra_params (e.g. tuned ones), a seed and threads."""
    cls = check_spec(name, spec, task)
    params = {**(spec.get("params") or {}), **(extra_params or {})}
    accepted = inspect.signature(cls.__init__).parameters
    if "random_state" in accepted:
        params.setdefault("random_state", seed)
    if _THREADED_PARAM in accepted and cls.__name__ not in _N_JOBS_WITHOUT_EFFECT:
        params.setdefault(_THREADED_PARAM, threads)
    return cls(**params)


def halving_resource(name, spec, estimator):
    """(resource, max_resources) for successive halving: ("n_samples", "auto"), or an integer parameter of the
    estimator (its iterations or trees) with its configured value as the most any candidate gets."""
    resource = spec.get("halving_resource") or HALVING_RESOURCES.get(spec.get("estimator"), "n_samples")
    if resource == "n_samples":
        return resource, "auto"
    where = f"estimators.{name}.halving_resource"
    budget = estimator.get_params().get(resource)  # None when the estimator has no such parameter
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise StageError(
            "config",
            f"model '{name}' cannot be halved over '{resource}': {type(estimator).__name__} has no whole-number "
            f"parameter of that name",
            "name an integer parameter such as n_estimators or max_iter, or n_samples (training rows)",
            where=where,
        )
    if resource in (spec.get("search_space") or {}):
        raise StageError(
            "config",
            f"model '{name}' searches over '{resource}', which successive halving sets itself in each round",
            f"remove '{resource}' from estimators.{name}.search_space (its value in params is the most a "
            "candidate gets), or set halving_resource: n_samples",
            where=where,
        )
    return resource, budget


def without_threads(model):
    """The fitted model with its thread count reset: how many cores a job had is not part of the model,
    and keeping it would make the saved bytes (and the registry version id) depend on --cores."""
    if _THREADED_PARAM in model.get_params(deep=False):
        model.set_params(**{_THREADED_PARAM: None})
    return model


def search_space(spec, method):
    """The config's search space as scikit-learn wants it: lists for grid, distributions for random."""
    space = {}
    for param, values in (spec.get("search_space") or {}).items():
        if isinstance(values, dict):
            if method == "grid":
                raise StageError(
                    "config",
                    f"search space of '{param}' is a distribution, which grid search cannot enumerate",
                    "give a list of values, or set tuning.method: random",
                    where=f"search_space.{param}",
                )
            space[param] = _distribution(values)
        else:
            space[param] = list(values)
    return space


def _distribution(values):
    from scipy import stats

    low, high = values["low"], values["high"]
    if values["distribution"] == "uniform":
        return stats.uniform(low, high - low)
    if values["distribution"] == "loguniform":
        return stats.loguniform(low, high)
    return stats.randint(int(low), int(high) + 1)
