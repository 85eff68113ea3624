"""Experiments: named overlays on the base config (config/experiments.yaml), sweeps expanded into experiments, and
the keys by which experiments share the work that does not depend on what differs between them.

Pure functions: the workflow (workflow/rules/common.smk) and the `snaketrain experiments` command call them.
"""

import hashlib
import itertools
import json
import re
from copy import deepcopy
from pathlib import Path

from snaketrain.registry.model_registry import NAME_PATTERN
from snaketrain.stage_log import ConfigError

DEFAULT_FILE = "config/experiments.yaml"
# what a shared folder's key hashes: enough hex digits that two settings never meet in practice, few enough to read
KEY_DIGITS = 10
# keys an experiment cannot set: they choose experiments, they are not one's settings
NOT_IN_OVERLAY = ("experiments", "only")


def deep_merge(base, overlay):
    """base with overlay laid over it the way --configfile merges: mappings deep, anything else replaced whole."""
    merged = deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged


def dotted_overlay(key, value):
    """{"a": {"b": value}} for the dotted key "a.b"."""
    overlay = value
    for part in reversed(key.split(".")):
        overlay = {part: overlay}
    return overlay


def value_text(value):
    """A sweep value as it appears in an experiment's name: YAML spelling, anything but letters, digits, - and _
    replaced by _ (0.1 -> 0_1, true -> true)."""
    text = json.dumps(value) if not isinstance(value, str) else value
    return re.sub(r"[^A-Za-z0-9_-]", "_", text.strip('"'))


def sweep_name(entry, combination):
    """The name of one point of a sweep: the entry's name, then for each swept key in the order written,
    `-<key with dots as _>-<value>` (scaling + {features.scale: false} -> scaling-features_scale-false)."""
    return entry + "".join(f"-{key.replace('.', '_')}-{value_text(value)}" for key, value in combination)


def _error(problem, fix, where):
    return ConfigError(problem, fix, where)


def check_name(name, where):
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise _error(
            f"experiment name {name!r} is not a valid name",
            "use 1-64 letters, digits, '-' or '_', starting with a letter or digit (the registry's rule for names)",
            where,
        )


def expand(entries, cap, where):
    """{name: overlay} with every sweep expanded into its points, in the order written, and {name: sweep entry}
    for the experiments a sweep made."""
    experiments, origin = {}, {}
    for entry, overlay in entries.items():
        check_name(entry, where)
        overlay = {} if overlay is None else overlay
        if not isinstance(overlay, dict):
            raise _error(
                f"experiment {entry} is a {type(overlay).__name__}, not a mapping of config keys",
                f"write it as `{entry}: {{}}` or `{entry}: {{models: [random_forest]}}`",
                f"{where}, experiment {entry}",
            )
        for key in NOT_IN_OVERLAY:
            if key in overlay:
                raise _error(
                    f"experiment {entry} sets `{key}`, which chooses experiments and cannot be part of one",
                    f"remove `{key}` from experiment {entry}",
                    f"{where}, experiment {entry}",
                )
        overlay = dict(overlay)
        sweep = overlay.pop("sweep", None)
        if sweep is None:
            experiments[entry] = overlay
            continue
        points = sweep_points(entry, sweep, cap, where)
        for combination in points:
            name = sweep_name(entry, combination)
            if len(name) > 64:
                raise _error(
                    f"sweep {entry} makes the experiment name {name} ({len(name)} characters; at most 64)",
                    f"give the sweep a shorter name than {entry}, or sweep fewer keys in one entry",
                    f"{where}, experiment {entry}",
                )
            merged = overlay
            for key, value in combination:
                merged = deep_merge(merged, dotted_overlay(key, value))
            experiments[name] = merged
            origin[name] = entry
    duplicates = [name for name in origin if name in entries and name not in origin.values()]
    if duplicates:
        raise _error(
            f"experiment {duplicates[0]} is both written and made by sweep {origin[duplicates[0]]}",
            "rename one of them",
            where,
        )
    return experiments, origin


def sweep_points(entry, sweep, cap, where):
    """The grid of a sweep: one [(key, value), ...] per point, keys in the order written."""
    if not isinstance(sweep, dict) or not sweep:
        raise _error(
            f"sweep of experiment {entry} is not a mapping of dotted config keys to lists of values",
            "write e.g. `sweep: {tuning.method: [grid, halving], features.scale: [true, false]}`",
            f"{where}, experiment {entry}",
        )
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise _error(
                f"sweep of experiment {entry}: {key} is not a non-empty list of values",
                f"write e.g. `{key}: [value1, value2]`",
                f"{where}, experiment {entry}",
            )
    count = 1
    for values in sweep.values():
        count *= len(values)
    if count > cap:
        raise _error(
            f"sweep {entry} makes {count} experiments, more than experiments.max_sweep ({cap})",
            "sweep fewer values, or raise experiments.max_sweep in the config",
            f"{where}, experiment {entry}",
        )
    keys = list(sweep)
    return [list(zip(keys, values, strict=True)) for values in itertools.product(*sweep.values())]


def read_file(path):
    """{name: overlay} as written in the experiments file (top-level mapping `experiments:`)."""
    import yaml

    from snaketrain.orchestration.config_check import yaml_syntax_error

    problem = yaml_syntax_error(path)
    if problem:
        raise problem
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if (
        not isinstance(loaded, dict)
        or set(loaded) - {"experiments"}
        or not isinstance(loaded.get("experiments") or {}, dict)
    ):
        raise _error(
            f"{path} does not hold a top-level mapping `experiments:` from names to overlays",
            "write `experiments:` then one `name: {overlay}` per line (e.g. `baseline: {}`)",
            str(path),
        )
    return loaded.get("experiments") or {}


def overlays(settings):
    """The experiments the `experiments` config section points at: {} when the file is the default one and absent
    (one config, today's layout), else ({name: overlay}, {name: sweep entry})."""
    path = settings["file"]
    if not Path(path).is_file():
        if path == DEFAULT_FILE:
            return {}, {}
        raise _error(
            f"experiments.file is '{path}', which does not exist",
            f"create it, or leave experiments.file at {DEFAULT_FILE}",
            "config key experiments.file",
        )
    return expand(read_file(path), settings["max_sweep"], str(path))


def in_experiment(name, error, path):
    """A config error of one experiment, saying which experiment and file it comes from."""
    if isinstance(error, ConfigError):
        return ConfigError(
            f"experiment {name}: {error.problem}", error.fix, f"experiment {name} in {path}; {error.where}"
        )
    return ConfigError(f"experiment {name}: {error}", "correct the experiment's overlay", f"{path}, experiment {name}")


def experiment_config(name, overlay, given, schema_path, configfiles, path):
    """The base config as given with the experiment's overlay, checked against the schema (an error names the
    experiment), with the schema's defaults filled in."""
    from snaketrain.orchestration.config_check import config_error, with_defaults

    merged = deep_merge(given, overlay)
    problem = config_error(merged, schema_path, configfiles)
    if problem:
        raise in_experiment(name, problem, path)
    return with_defaults(merged, schema_path)


def registered_name(cfg):
    """The registered model name a config's model is a version of: registry.model_name, else data.name."""
    return cfg["registry"]["model_name"] or cfg["data"]["name"]


def selected(names, only):
    """The experiments a run brings up to date: all, or those `only` names (a list, or a comma-separated string
    as --config only=a,b gives it)."""
    if only is None:
        return list(names)
    wanted = [part.strip() for part in only.split(",")] if isinstance(only, str) else list(only)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise _error(
            f"only names {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not an experiment",
            f"choose among: {', '.join(names)}",
            "config key only (--config only=...)",
        )
    return [name for name in names if name in wanted]


def shared_key(dataset, settings):
    """The folder name of work shared by every experiment with these settings: readable dataset, then a digest."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return f"{dataset}-{hashlib.sha256(text.encode()).hexdigest()[:KEY_DIGITS]}"


def first_conflict(configs, read):
    """(dataset, a, b) for the first two experiments that give one data.name different read(config), else None."""
    seen = {}
    for name, config in configs.items():
        dataset = config["data"]["name"]
        if dataset in seen and read(configs[seen[dataset]]) != read(config):
            return dataset, seen[dataset], name
        seen.setdefault(dataset, name)
    return None


# ---- what each shared folder's jobs read (the workflow's params come from the same functions)


def acquire_settings(cfg):
    keys = ("source", "builtin", "path", "url", "format", "delimiter", "encoding")
    keys += ("download_retries", "sql_url_env", "sql_query")
    return {key: cfg["data"][key] for key in keys}


def custom_code(cfg):
    """The sha256 of features.custom's file (editing it reruns features onwards), None without one."""
    custom = cfg["features"]["custom"]
    if not custom:
        return None
    path = Path(custom["file"])
    if not path.is_file():
        raise ConfigError(
            f"features.custom.file is '{path}', which does not exist",
            "point it at a Python file in the project directory",
            "config key features.custom.file",
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def column_overrides(cfg):
    # the features.* keys that say what a column is: validation reports each column's kind with them
    keys = ("dates", "text", "encoding", "max_categories")
    return {key: cfg["features"][key] for key in keys}


def estimator_entry(model, cfg):
    # a family of the catalogue needs no entry under `estimators`, and an entry named after one no `estimator:`
    return {"estimator": model, **cfg["estimators"].get(model, {})}


def data_settings(cfg):
    """What acquire_data and validate_data read: experiments equal here share them."""
    validation = {"target": cfg["data"]["target"], "task": cfg["data"]["task"]}
    validation.update(rules=cfg["validation"], drop=cfg["features"]["drop"])
    return {"acquire": acquire_settings(cfg), **validation, "kinds": column_overrides(cfg)}


def features_settings(cfg):
    """What split_data and build_features read (beside the data): experiments equal here share them."""
    return {
        "split": cfg["split"],
        "features": cfg["features"],
        "dtypes": cfg["validation"]["dtypes"],
        "custom": custom_code(cfg),
    }


def fit_settings(model, cfg):
    """What a model's resolve_estimator, tune_model, train_model and evaluate_model read (beside the features)."""
    settings = {"model": model, "entry": estimator_entry(model, cfg), "tuning": cfg["tuning"]}
    positive = cfg["data"].get("positive_class")
    if positive is not None:  # only when set, so that the folders of configs without it keep their keys
        settings["positive_class"] = positive
    return settings


def positive_class_conflict(configs):
    """(name, [(experiment, data.positive_class), ...]) for the first registered name whose experiments do not
    all set the same data.positive_class (null: the rare class, found at training), else None. Versions of one name
    are compared by F1 of its positive class (the gate against production, deploy among the experiments), so
    their F1s must be of one class. Pure: read before any job runs."""
    by_name = {}
    for experiment in sorted(configs):
        cfg = configs[experiment]
        by_name.setdefault(registered_name(cfg), []).append((experiment, cfg["data"].get("positive_class")))
    for name in sorted(by_name):
        settings = by_name[name]
        if len({json.dumps(value) if value is None else str(value) for _, value in settings}) > 1:
            return name, settings
    return None


def positive_class_error(configs, where):
    """A ConfigError for experiments of one registered name that disagree on the positive class, else None."""
    conflict = positive_class_conflict(configs)
    if conflict is None:
        return None
    name, settings = conflict
    shown = ", ".join(
        f"{experiment}: {'null (the rare class)' if v is None else repr(v)}" for experiment, v in settings
    )
    return ConfigError(
        f"the experiments registered as '{name}' set data.positive_class differently ({shown}): their F1s would be "
        "of different classes, and the gate and the deploy compare them",
        "set the same data.positive_class in each (in the base config), or give one of them its own "
        "registry.model_name",
        f"{where}, data.positive_class",
    )


def shared_folders(cfg):
    """The keys of the folders an experiment shares: {"dataset", "data", "features", "fit": {model: key}}."""
    dataset = cfg["data"]["name"]
    data = shared_key(dataset, data_settings(cfg))
    features = shared_key(dataset, [data, features_settings(cfg)])
    fits = {model: shared_key(dataset, [features, fit_settings(model, cfg)]) for model in cfg["models"]}
    return {"dataset": dataset, "data": data, "features": features, "fit": fits}


def log_folders(name, cfg, logs="logs"):
    """Where an experiment's jobs log: its own folder and the shared ones it reads from."""
    keys = shared_folders(cfg)
    shared = [keys["dataset"], f"data-{keys['data']}", f"features-{keys['features']}"]
    shared += [f"fit-{key}" for key in keys["fit"].values()]
    return [Path(logs, name), *(Path(logs, "_shared", folder) for folder in shared)]


def flat(tree, prefix=""):
    """A nested config as {"a.b": value}, lists as values."""
    items = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items.update(flat(value, f"{dotted}."))
        else:
            items[dotted] = value
    return items


def changed_settings(base, config, ignore=NOT_IN_OVERLAY):
    """{dotted key: value} of config where it differs from base (both with defaults filled), sorted by key."""
    before, after = flat(base), flat(config)
    # an empty mapping in the base (estimators: {}) that the experiment fills is a leaf only on one side: the keys
    # under it are what changed, not the mapping itself
    filled = {key for key, value in before.items() if value == {} and key not in after}
    keys = sorted((set(before) | set(after)) - filled)
    return {
        key: after.get(key) for key in keys if key.split(".")[0] not in ignore and before.get(key) != after.get(key)
    }
