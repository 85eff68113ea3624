"""The estimator catalogue and factory: config entries become scikit-learn-compatible estimators and search spaces.

A model family is one catalogue entry (FAMILIES): its class per task, default params and search space, the
parameters that take the job's threads and the seed, what successive halving and early stopping count, the types
its fitted files may hold (trusted for that family only when a registry version is loaded), and how to make a
fitted model's bytes independent of the threads it was trained on. Adding a family touches this table, not the
stages.
"""

import difflib
import functools
import importlib
import importlib.util
import inspect
import json
import re
import warnings
from dataclasses import dataclass, field

from snaketrain.model_metrics import splits
from snaketrain.stage_log import StageError

CLASSIFICATION, REGRESSION = "classification", "regression"
BOOST_INSTALL = "make setup-boost (or pip install -r requirements-boost.txt)"


@dataclass(frozen=True)
class Form:
    """A family's estimator for one kind of task, with its default fixed params and search space."""

    path: str
    params: dict = field(default_factory=dict)
    search_space: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    classifier: Form | None
    regressor: Form | None
    package: str = "sklearn"  # the library that provides it (top-level module)
    aliases: tuple = ()  # the library's own class paths, which users write in config: they mean this family
    install: str | None = None  # the command that installs that library; None: always installed
    threads: str | None = "n_jobs"  # the constructor parameter that takes the job's threads
    seed: str | None = "random_state"
    # what successive halving gives more of each round, and what early stopping counts: trees or boosting rounds
    rounds: str | None = None
    early_stopping: int = 0  # rounds without improvement before a boosted family stops (0: off)
    # types its fitted files hold beyond skops' defaults and scikit-learn's own (registry.inference.TRUSTED_TYPES)
    trusted_types: tuple = ()
    documented_params: str | None = None  # for **kwargs constructors: the function listing every documented name
    # params that make the fit depend on the thread count when set: such a model gets one thread (same bytes, any --cores)
    single_thread_when: tuple = ()

    def form(self, task):
        return self.regressor if task == "regression" else self.classifier


LINEAR_C = {"C": [0.1, 1.0, 10.0]}
ALPHA = {"alpha": [0.1, 1.0, 10.0]}
FOREST = {"n_estimators": 200}
FOREST_SPACE = {"max_depth": [None, 8], "min_samples_leaf": [1, 3]}
RATE = [0.05, 0.1]
# LightGBM: rounds at a learning rate of 0.05, of which early stopping keeps the best (in the search's fits too); small
# trees and a strong L2 penalty for classifiers, linear leaves for regressors. Why each setting, measured on the real
# tables: bench/README.md, "Time to a good model".
LIGHTGBM = {"n_estimators": 1000, "learning_rate": 0.05, "colsample_bytree": 0.5, "reg_lambda": 1.0, "verbose": -1}
LIGHTGBM_REGRESSOR = {**LIGHTGBM, "n_estimators": 4000}
LIGHTGBM_CLASSIFIER_SPACE = {"num_leaves": [4, 7, 15, 31], "min_child_samples": [20, 100], "reg_lambda": [1.0, 30.0]}
LIGHTGBM_REGRESSOR_SPACE = {"num_leaves": [15, 63], "min_child_samples": [20, 80], "linear_tree": [False, True]}

FAMILIES = {
    # one linear family for every task: logistic regression for classification, ridge for regression
    "linear": Family(
        Form("sklearn.linear_model.LogisticRegression", {"max_iter": 1000}, LINEAR_C),
        Form("sklearn.linear_model.Ridge", {}, ALPHA),
    ),
    "logistic_regression": Family(Form("sklearn.linear_model.LogisticRegression", {"max_iter": 1000}, LINEAR_C), None),
    "ridge": Family(
        Form("sklearn.linear_model.RidgeClassifier", {}, ALPHA), Form("sklearn.linear_model.Ridge", {}, ALPHA)
    ),
    "linear_regression": Family(None, Form("sklearn.linear_model.LinearRegression")),
    "spline_linear": Family(  # the linear family on B-splines of the numbers: a curve per number (spline_models.py)
        Form("snaketrain.spline_models.SplineLogisticRegression", {}, {"C": [0.01, 0.1, 1.0, 10.0]}),
        Form("snaketrain.spline_models.SplineRidge", {}, {"alpha": [0.1, 1.0, 10.0, 100.0]}),
        trusted_types=(
            "scipy._lib.array_api_compat.numpy._aliases.asarray",  # a reference each fitted B-spline keeps
            "scipy.interpolate._bsplines.BSpline",  # SplineTransformer's fitted curves
            "snaketrain.spline_models.SplineLogisticRegression",
            "snaketrain.spline_models.SplineRidge",
        ),
    ),
    "random_forest": Family(
        Form("sklearn.ensemble.RandomForestClassifier", FOREST, FOREST_SPACE),
        Form("sklearn.ensemble.RandomForestRegressor", FOREST, FOREST_SPACE),
        rounds="n_estimators",
    ),
    "extra_trees": Family(
        Form("sklearn.ensemble.ExtraTreesClassifier", FOREST, FOREST_SPACE),
        Form("sklearn.ensemble.ExtraTreesRegressor", FOREST, FOREST_SPACE),
        rounds="n_estimators",
    ),
    "gradient_boosting": Family(
        Form("sklearn.ensemble.GradientBoostingClassifier", {"n_estimators": 100}, {"learning_rate": RATE}),
        Form("sklearn.ensemble.GradientBoostingRegressor", {"n_estimators": 100}, {"learning_rate": RATE}),
        rounds="n_estimators",
    ),
    "hist_gradient_boosting": Family(
        Form(
            "sklearn.ensemble.HistGradientBoostingClassifier",
            {"max_iter": 200},
            {"learning_rate": RATE, "max_leaf_nodes": [15, 31]},
        ),
        Form(
            "sklearn.ensemble.HistGradientBoostingRegressor",
            {"max_iter": 200},
            {"learning_rate": RATE, "max_leaf_nodes": [15, 31]},
        ),
        rounds="max_iter",
    ),
    "knn": Family(
        Form("sklearn.neighbors.KNeighborsClassifier", {}, {"n_neighbors": [5, 15]}),
        Form("sklearn.neighbors.KNeighborsRegressor", {}, {"n_neighbors": [5, 15]}),
    ),
    "svm": Family(Form("sklearn.svm.SVC", {}, LINEAR_C), Form("sklearn.svm.SVR", {}, LINEAR_C)),
    # the boosted-tree libraries (make setup-boost): quiet, no files of their own, seeded and threaded
    "xgboost": Family(
        # XGBoost takes class codes only: its subclass encodes users' labels and answers with them
        Form(
            "snaketrain.xgboost_labels.XGBLabelClassifier",
            {"n_estimators": 300, "verbosity": 0, "tree_method": "hist"},
            {"learning_rate": RATE, "max_depth": [4, 6]},
        ),
        Form(
            "xgboost.XGBRegressor",
            {"n_estimators": 300, "verbosity": 0, "tree_method": "hist"},
            {"learning_rate": RATE, "max_depth": [4, 6]},
        ),
        package="xgboost",
        aliases=(
            "xgboost.XGBClassifier",
            "xgboost.XGBRegressor",
            "xgboost.sklearn.XGBClassifier",
            "xgboost.sklearn.XGBRegressor",
        ),
        install=BOOST_INSTALL,
        rounds="n_estimators",
        early_stopping=20,
        trusted_types=(
            "xgboost.core.Booster",
            "snaketrain.xgboost_labels.XGBLabelClassifier",
            "xgboost.sklearn.XGBClassifier",
            "xgboost.sklearn.XGBRegressor",
        ),
    ),
    # in the default model list and the light install (requirements.txt)
    "lightgbm": Family(
        Form("lightgbm.LGBMClassifier", LIGHTGBM, LIGHTGBM_CLASSIFIER_SPACE),
        Form("lightgbm.LGBMRegressor", LIGHTGBM_REGRESSOR, LIGHTGBM_REGRESSOR_SPACE),
        package="lightgbm",
        aliases=("lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor"),
        install="pip install -r requirements.txt (lightgbm is part of the default install)",
        rounds="n_estimators",
        early_stopping=20,
        single_thread_when=("linear_tree",),  # a linear leaf's rows are summed thread by thread
        trusted_types=(
            "collections.OrderedDict",
            "lightgbm.basic.Booster",
            "lightgbm.sklearn.LGBMClassifier",
            "lightgbm.sklearn.LGBMRegressor",
        ),
        documented_params="_lightgbm_param_names",
    ),
    "catboost": Family(
        Form(
            "catboost.CatBoostClassifier",
            {"iterations": 300, "verbose": 0, "allow_writing_files": False},
            {"learning_rate": RATE, "depth": [4, 6]},
        ),
        Form(
            "catboost.CatBoostRegressor",
            {"iterations": 300, "verbose": 0, "allow_writing_files": False},
            {"learning_rate": RATE, "depth": [4, 6]},
        ),
        package="catboost",
        aliases=("catboost.CatBoostClassifier", "catboost.CatBoostRegressor"),
        install=BOOST_INSTALL,
        threads="thread_count",
        rounds="iterations",
        early_stopping=20,
        trusted_types=("catboost.core.CatBoostClassifier", "catboost.core.CatBoostRegressor"),
    ),
}
SHORT_NAMES = tuple(FAMILIES)  # for messages and the schema's description
# scikit-learn deprecated n_jobs as having no effect on these (it warns when set)
_N_JOBS_WITHOUT_EFFECT = frozenset({"LogisticRegression"})
# early stopping holds out this share of the training part (never the test part), as HistGradientBoosting does
VALIDATION_FRACTION = 0.1


def task_kind(task):
    return REGRESSION if task == "regression" else CLASSIFICATION


def family_of(estimator):
    """The catalogue family of a config `estimator` (a short name or a dotted class path), or None."""
    if estimator in FAMILIES:
        return FAMILIES[estimator]
    key = _class_key(estimator)
    for family in FAMILIES.values():
        paths = [form.path for form in (family.classifier, family.regressor) if form] + list(family.aliases)
        if any(_class_key(path) == key for path in paths):
            return family
    return None


def _class_key(path):
    # xgboost.XGBClassifier and xgboost.sklearn.XGBClassifier name the same class
    return path.split(".")[0], path.rpartition(".")[2]


def library_version(top):
    """The installed version of a top-level package (xgboost, sklearn, ...), or None."""
    module = importlib.import_module(top) if importlib.util.find_spec(top) else None
    return getattr(module, "__version__", None)


def class_path(name, spec, task):
    """Resolve a model's estimator to a dotted class path for the task ('binary', 'multiclass', 'regression')."""
    estimator = spec["estimator"]
    family = family_of(estimator)
    if family and estimator in family.aliases:  # xgboost.XGBClassifier: the xgboost family, for this task
        estimator = next(short for short, each in FAMILIES.items() if each is family)
    if estimator in FAMILIES:
        form = FAMILIES[estimator].form(task)
        if form is None:
            kind = task_kind(task)
            fitting = [short for short, family in FAMILIES.items() if family.form(task)]
            raise StageError(
                "config",
                f"estimator '{estimator}' of model '{name}' has no {kind} form",
                f"use one of {', '.join(fitting)} for {kind} (linear is logistic regression or ridge, whichever the "
                "task needs), or list another model in `models`",
                where=f"estimators.{name}.estimator",
            )
        return form.path
    if "." not in estimator:
        close = difflib.get_close_matches(estimator, FAMILIES, n=3)
        raise StageError(
            "config",
            f"unknown estimator '{estimator}' for model '{name}'"
            + (f" (did you mean {' or '.join(close)}?)" if close else ""),
            f"use a short name ({', '.join(FAMILIES)}) or a dotted class path such as sklearn.svm.LinearSVC",
            where=f"estimators.{name}.estimator",
        )
    return estimator


def resolve(name, spec, task):
    """The model's config entry completed from its family for the task: a dotted class path, the family's params
    under the config's, and the family's search space unless the config gives one. Resolving twice changes nothing."""
    path = class_path(name, spec, task)
    family = family_of(spec["estimator"])
    form = family.form(task) if family else None
    defaults = form if form is not None and form.path == path else Form(path)
    resolved = dict(spec, estimator=path)
    resolved["params"] = {**defaults.params, **(spec.get("params") or {})}
    if spec.get("search_space") is None:
        resolved["search_space"] = dict(defaults.search_space)
    if family and family.rounds and not spec.get("halving_resource"):
        resolved["halving_resource"] = family.rounds
    return resolved


def load_class(name, path):
    module_name, _, class_name = path.rpartition(".")
    family = family_of(path)
    top = family.package if family else module_name.split(".")[0]
    if importlib.util.find_spec(top) is None:
        install = family.install if family and family.install else f"pip install {top}"
        raise StageError(
            "config",
            f"model '{name}' needs the package '{top}', which is not installed",
            f"install it with {install}, or remove '{name}' from `models`",
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


@functools.cache  # check_spec and build_estimator both ask; the answer depends on the class alone
def accepted_params(cls):
    """Every parameter the estimator documents: its constructor's named parameters and, for a constructor that
    takes **kwargs (XGBoost, LightGBM), what the library itself lists."""
    signature = inspect.signature(cls.__init__).parameters
    known = {
        name for name, p in signature.items() if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    if any(p.kind is p.VAR_KEYWORD for p in signature.values()):
        known |= set(cls().get_params())
        family = family_of(f"{cls.__module__}.{cls.__name__}")
        if family and family.documented_params:
            known |= globals()[family.documented_params](cls)
    return frozenset(known)  # cached: shared by every caller


def _lightgbm_param_names(cls):
    """LightGBM's own list of its parameters and their aliases (the names its C++ core accepts)."""
    from lightgbm.basic import _ConfigAliases

    aliases = getattr(_ConfigAliases, "_get_all_param_aliases", lambda: {})()
    return set(aliases) | {alias for names in aliases.values() for alias in names}


def check_spec(name, spec, task):
    """Raise StageError unless the estimator exists and knows every fixed and searched parameter."""
    resolved = resolve(name, spec, task)
    cls = load_class(name, resolved["estimator"])
    if cls.__module__.split(".")[0] != "sklearn" and family_of(resolved["estimator"]) is None:
        # it would train, pass the gate and then be refused by the registry, which loads only known types
        raise StageError(
            "config",
            f"model '{name}' uses {cls.__module__}.{cls.__name__}, which is neither a scikit-learn estimator nor a "
            "family of the catalogue: its fitted files could not be loaded safely from the registry",
            f"use a scikit-learn class or a short name ({', '.join(FAMILIES)})",
            where=f"estimators.{name}.estimator",
        )
    known = accepted_params(cls)
    for section in ("params", "search_space"):
        unknown = sorted(set(resolved.get(section) or {}) - known)
        if unknown:
            close = {bad: difflib.get_close_matches(bad, known, n=3) for bad in unknown}
            hints = "; ".join(f"for '{bad}': {', '.join(found)}" for bad, found in close.items() if found)
            raise StageError(
                "config",
                f"{cls.__name__} has no parameter {', '.join(map(repr, unknown))} (model '{name}')",
                (f"closest valid names {hints}" if hints else f"use parameters that {cls.__name__} accepts")
                + f" (all of them: {', '.join(sorted(known))})",
                where=f"estimators.{name}.{section}",
            )
    return cls


def build_estimator(name, spec, task, seed, threads=1, extra_params=None):
    """An unfitted estimator with the family's and the config's params, extra_params (e.g. tuned ones), a seed
    and threads."""
    resolved = resolve(name, spec, task)
    cls = check_spec(name, resolved, task)
    family = family_of(resolved["estimator"])
    params = {**resolved["params"], **(extra_params or {})}
    accepted = accepted_params(cls)
    seed_param = family.seed if family else "random_state"
    if seed_param in accepted:
        params.setdefault(seed_param, seed)
    threads_param = family.threads if family else "n_jobs"
    if family and any(params.get(name) for name in family.single_thread_when):
        threads = 1
    if threads_param in accepted and cls.__name__ not in _N_JOBS_WITHOUT_EFFECT:
        params.setdefault(threads_param, threads)
    return cls(**params)


def halving_resource(name, spec, estimator):
    """(resource, max_resources) for successive halving: ("n_samples", "auto"), or an integer parameter of the
    estimator (its iterations or trees) with its configured value as the most any candidate gets."""
    resource = spec.get("halving_resource") or "n_samples"
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


def early_stopping_rounds(spec):
    """Rounds without improvement before a boosted model stops (0: off): the config's, else the family's."""
    configured = spec.get("early_stopping_rounds")
    if configured is not None:
        return configured
    family = family_of(spec["estimator"])
    return family.early_stopping if family else 0


def fit_with_early_stopping(model, X, y, X_valid, y_valid, rounds):
    """Fit a boosted model on X, y, stopping once the held-out X_valid, y_valid has not improved for `rounds`
    rounds; returns how many rounds were best."""
    module = library_of(model)
    if module == "xgboost":
        model.set_params(early_stopping_rounds=rounds)
        model.fit(X, y, eval_set=[(X_valid, y_valid)], verbose=False)
        return int(model.best_iteration) + 1
    if module == "lightgbm":
        import lightgbm

        # eval_set, deprecated in LightGBM 4.7: its replacement (eval_X, eval_y) does not encode text labels
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
            model.fit(X, y, eval_set=[(X_valid, y_valid)], callbacks=[lightgbm.early_stopping(rounds, verbose=False)])
        return int(model.best_iteration_) or model.n_estimators
    if module == "catboost":
        model.fit(X, y, eval_set=(X_valid, y_valid), early_stopping_rounds=rounds)
        return int(model.get_best_iteration()) + 1
    raise StageError(
        "config",
        f"{type(model).__name__} has no early stopping that snaketrain knows",
        "remove early_stopping_rounds from its estimators entry",
    )


def library_of(model):
    """The library a model's class comes from, its own or a parent's (snaketrain's XGBoost subclass: xgboost)."""
    tops = [cls.__module__.split(".")[0] for cls in type(model).__mro__]
    return next((top for top in tops if top != "snaketrain"), tops[0])


def without_threads(model):
    """The fitted model with its thread count (and, for CatBoost, its training time and random id) left out: how
    many cores a job had is not part of the model, and keeping it would make the saved bytes (and the registry
    version id) depend on --cores."""
    module = library_of(model)
    if module == "catboost":
        return _catboost_without_threads(model)
    if "n_jobs" in model.get_params(deep=False):
        model.set_params(n_jobs=None)
    if module == "xgboost":
        model.get_booster().set_param({"nthread": 0})
    elif module == "lightgbm":
        import lightgbm

        text = re.sub(r"^\[num_threads: \d+\]$", "[num_threads: 0]", model.booster_.model_to_string(), flags=re.M)
        model._Booster = lightgbm.Booster(model_str=text)
    return model


def _catboost_without_threads(model):
    metadata = model.get_metadata()
    for key in ("model_guid", "train_finish_time"):
        if key in metadata:
            del metadata[key]
    if "params" in metadata:
        params = json.loads(metadata["params"])
        params.get("flat_params", {}).pop("thread_count", None)
        params.get("system_options", {})["thread_count"] = -1
        metadata["params"] = json.dumps(params, sort_keys=True)
    # a fitted CatBoost model refuses set_params; its constructor params are kept in _init_params
    model._init_params.pop("thread_count", None)
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


# ---- the decision threshold of a binary classifier, chosen by cross-validation on the training part and kept inside
# the fitted model, so that everything that predicts with it (evaluation, the gate, predict, the registry's Pipeline,
# the MLflow directory, the service and its fast path) gives the same labels.
#
# The threshold is chosen as scikit-learn's TunedThresholdClassifierCV chooses it (tune): the model's out-of-fold
# answers (class probabilities, else decision values) of the seeded folds are scored at 100 candidate thresholds and
# the one whose mean F1 of the positive class is highest is kept; the estimator is then refitted on the whole
# training part. The fitted model kept is a FixedThresholdClassifier around that (frozen) estimator: plain
# parameters (a number, a label, a method name), so that a registered Pipeline loads with skops' default trusted
# types and nothing else (TunedThresholdClassifierCV keeps its scorer and splitter, which skops would have to be
# told to trust).

THRESHOLD_RESPONSES = ("predict_proba", "decision_function")
THRESHOLD_CANDIDATES = 100  # thresholds tried, as TunedThresholdClassifierCV's default


def tune_threshold(estimator, X, y, positive, folds, seed, candidates=THRESHOLD_CANDIDATES, holdout_above=None):
    """estimator (unfitted) fitted on X, y with the threshold that maximises the mean F1 of class `positive` over
    `folds` stratified, seeded folds of X, y (one holdout above `holdout_above` rows: splits()): a
    FixedThresholdClassifier (see threshold_rule).

    What scikit-learn's TunedThresholdClassifierCV does (each fold's F1 curve interpolated on `candidates` thresholds
    spread over the folds' scores, averaged, the best kept, the estimator refitted on all rows), with each fold's
    F1 at every threshold from one precision-recall curve (sorting the scores once) instead of one F1 computation
    per threshold, which cost more than fitting a linear model (bench/threshold_cost.py)."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import precision_recall_curve

    curves = []
    for fit_rows, score_rows in splits("binary", folds, seed, len(y), holdout_above).split(X, y):
        model = clone(estimator).fit(_take_rows(X, fit_rows), _take_rows(y, fit_rows))
        precision, recall, thresholds = precision_recall_curve(
            np.asarray(_take_rows(y, score_rows)) == positive,
            positive_scores(model, _take_rows(X, score_rows), positive),
        )
        precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        curves.append((thresholds, f1))
    low, high = min(t.min() for t, _ in curves), max(t.max() for t, _ in curves)
    grid = np.linspace(low, high, candidates)
    mean = np.mean([np.interp(grid, thresholds, f1) for thresholds, f1 in curves], axis=0)
    fitted = clone(estimator).fit(X, y)
    return fixed_threshold(fitted, float(grid[int(np.argmax(mean))]), positive, X, y)


def _take_rows(data, index):
    return data.iloc[index] if hasattr(data, "iloc") else data[index]


def positive_scores(model, X, positive):
    """The fitted model's score of class `positive` per row: its probability, else its decision value (higher:
    more likely positive), as FixedThresholdClassifier reads it."""
    import numpy as np

    classes = list(model.classes_)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, classes.index(positive)]
    scores = np.asarray(model.decision_function(X))
    return scores if classes.index(positive) == 1 else -scores


def fixed_threshold(fitted, threshold, positive, X, y):
    """A fitted estimator with a fixed decision threshold for class `positive` (no refit: it is frozen)."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    return FixedThresholdClassifier(FrozenEstimator(fitted), threshold=threshold, pos_label=positive).fit(X, y)


def inner_estimator(model):
    """The estimator inside a thresholded model (the model itself otherwise)."""
    inner = getattr(model, "estimator_", None)
    if inner is None or not is_thresholded(model):
        return model
    return getattr(inner, "estimator", inner)  # FrozenEstimator keeps the fitted one as .estimator


def is_thresholded(model):
    from sklearn.model_selection import FixedThresholdClassifier

    return isinstance(model, FixedThresholdClassifier)


def threshold_rule(model):
    """{"positive_class", "threshold", "response"} of a thresholded model (response: what the threshold is on,
    class probabilities or decision values), None for any other model."""
    if not is_thresholded(model):
        return None
    inner = inner_estimator(model)
    response = model.response_method
    if response == "auto":
        response = next(method for method in THRESHOLD_RESPONSES if hasattr(inner, method))
    positive = model.pos_label
    return {
        "positive_class": positive.item() if hasattr(positive, "item") else positive,
        "threshold": round(float(model.threshold), 6),
        "response": response,
    }
