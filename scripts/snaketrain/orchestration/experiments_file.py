"""The experiments file (config/experiments.yaml): named overlays on the base config, merged the way --configfile
merges, and sweeps expanded into one named experiment per point of their grid."""

import itertools
import json
import re
from copy import deepcopy
from pathlib import Path

from snaketrain.registry.model_registry import NAME_PATTERN
from snaketrain.stage_log import ConfigError

DEFAULT_FILE = "config/experiments.yaml"
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


def check_name(name, where):
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
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
            raise ConfigError(
                f"experiment {entry} is a {type(overlay).__name__}, not a mapping of config keys",
                f"write it as `{entry}: {{}}` or `{entry}: {{models: [random_forest]}}`",
                f"{where}, experiment {entry}",
            )
        for key in NOT_IN_OVERLAY:
            if key in overlay:
                raise ConfigError(
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
                raise ConfigError(
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
        raise ConfigError(
            f"experiment {duplicates[0]} is both written and made by sweep {origin[duplicates[0]]}",
            "rename one of them",
            where,
        )
    return experiments, origin


def sweep_points(entry, sweep, cap, where):
    """The grid of a sweep: one [(key, value), ...] per point, keys in the order written."""
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError(
            f"sweep of experiment {entry} is not a mapping of dotted config keys to lists of values",
            "write e.g. `sweep: {tuning.method: [grid, halving], features.scale: [true, false]}`",
            f"{where}, experiment {entry}",
        )
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"sweep of experiment {entry}: {key} is not a non-empty list of values",
                f"write e.g. `{key}: [value1, value2]`",
                f"{where}, experiment {entry}",
            )
    count = 1
    for values in sweep.values():
        count *= len(values)
    if count > cap:
        raise ConfigError(
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
        raise ConfigError(
            f"{path} does not hold a top-level mapping `experiments:` from names to overlays",
            "write `experiments:` then one `name: {overlay}` per line (e.g. `baseline: {}`)",
            str(path),
        )
    return loaded.get("experiments") or {}


def overlays(settings):
    """The experiments the `experiments` config section points at: {} when the file is the default one and absent
    (one config), else ({name: overlay}, {name: sweep entry})."""
    path = settings["file"]
    if not Path(path).is_file():
        if path == DEFAULT_FILE:
            return {}, {}
        raise ConfigError(
            f"experiments.file is '{path}', which does not exist",
            f"create it, or leave experiments.file at {DEFAULT_FILE}",
            "config key experiments.file",
        )
    return expand(read_file(path), settings["max_sweep"], str(path))
