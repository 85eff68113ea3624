"""Config errors in words a user can act on: each names the key, the value, what is allowed, and the fix.

Snakemake's own validate() reports the first schema violation with a dump of the schema; this module
checks the same schema first and turns every violation into one line naming the dotted key.
"""

import difflib
import functools
from copy import deepcopy
from pathlib import Path

from snaketrain.stage_log import ConfigError

SAFE_NAME_RULE = "letters, digits, '_' and '-', starting with a letter or digit, at most 64 characters"
TYPE_NAMES = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "null",
}


def load_schema(path):
    import yaml

    # libyaml's loader when PyYAML has it: the schema is read at every Snakemake call, 8x faster than pure Python
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


@functools.cache
def _schema_at(schema_path):
    """The schema, read once per process for the validators below (neither changes it)."""
    return load_schema(schema_path)


@functools.cache
def _filling_validator(schema_path):
    """A validator that fills in the schema's defaults as it goes, the way Snakemake's validate() does, built once
    (experiments validate one config each)."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_then_check(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(key, deepcopy(subschema["default"]))
        yield from check_properties(validator, properties, instance, schema)

    filling = validators.extend(Draft202012Validator, {"properties": fill_then_check})
    return filling(_schema_at(schema_path))


def with_defaults(config, schema_path):
    """A copy of a valid config with the schema's defaults filled in."""
    filled = deepcopy(config)
    for _ in _filling_validator(str(schema_path)).iter_errors(filled):
        pass  # the config was checked before; filling is what this pass is for
    return filled


def dotted(path):
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _expected_type(kind):
    kinds = kind if isinstance(kind, list) else [kind]
    return " or ".join(TYPE_NAMES.get(k, k) for k in kinds)


def _description(schema):
    text = " ".join(str(schema.get("description", "")).split())
    return text


def explain(error):
    """(problem, fix, key) for one jsonschema ValidationError."""
    path = list(error.absolute_path)
    key = dotted(path)
    value = error.instance
    kind = error.validator
    described = _description(error.schema)
    fix = f"see the description of {key} in config/README.md"
    if described:
        fix = f"{key}: {described}"
    if "propertyNames" in error.schema_path:
        allowed = error.schema.get("enum")
        if allowed:
            return (
                f"{key} has an unknown key {value!r}",
                f"use one of: {', '.join(map(str, allowed))}",
                f"{key}.{value}",
            )
        return (
            f"{key} has a key {value!r} that is not a safe name",
            f"rename it using {SAFE_NAME_RULE}: names become folder and file names",
            f"{key}.{value}",
        )
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(value) - set(known))
        prefix = f"{key}." if path else ""
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hints.append(f"did you mean {prefix}{close[0]}?" if close else "")
        names = ", ".join(f"{prefix}{name}" for name in unknown)
        suggestion = " ".join(h for h in hints if h)
        return (
            f"unknown config key {names}",
            f"remove it or correct the spelling{'; ' + suggestion if suggestion else ''} "
            f"(keys allowed here: {', '.join(known)})",
            f"{prefix}{unknown[0]}",
        )
    if kind == "type":
        expected = _expected_type(error.validator_value)
        fix = f"set {key} to {expected}" + (f" ({described})" if described else "")
        return f"{key} is {value!r}, but must be {expected}", fix, key
    if kind == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return (
            f"{key} is {value!r}, which is not one of the allowed values: {allowed}",
            f"set {key} to one of: {allowed}",
            key,
        )
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }[kind]
        bound = f"{relation} {error.validator_value}"
        fix = f"set {key} to a value {bound}" + (f" ({described})" if described else "")
        return f"{key} is {value!r}, out of range: it must be {bound}", fix, key
    if kind == "pattern" and error.validator_value.startswith("^[A-Za-z0-9]"):
        return (
            f"{key} is {value!r}, which is not a safe name",
            f"use {SAFE_NAME_RULE}: names become folder and file names, so they may not contain '/', '.' or spaces",
            key,
        )
    if kind == "pattern":
        return f"{key} is {value!r}, which does not have the required form ({error.validator_value})", fix, key
    if kind == "maxLength" and isinstance(value, str):
        return f"{key} is {len(value)} characters long, longer than {error.validator_value}", fix, key
    if kind == "minLength":
        return f"{key} is empty", fix, key
    if kind == "minItems":
        if path == ["models"]:
            return "models is empty: there is nothing to train", "list at least one estimator name in `models`", key
        return f"{key} needs at least {error.validator_value} item(s)", fix, key
    if kind == "uniqueItems":
        return f"{key} lists the same name more than once", f"list each name once in {key}", key
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        return f"{key} lacks the required key {', '.join(missing)}", f"add {', '.join(missing)} under {key}", key
    return f"{key}: {error.message[:300]}", fix, key


@functools.cache
def _checking_validator(schema_path):
    """The schema's validator, built once per process (experiments check one config each)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema_at(schema_path))


def schema_errors(config, schema):
    """Every schema violation as (problem, fix, key), sorted by key; schema is the schema or its path."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema) if isinstance(schema, dict) else _checking_validator(str(schema))
    errors = validator.iter_errors(config)
    explained = {}
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        problem, fix, key = explain(error)
        explained.setdefault(problem, (problem, fix, key))
    return list(explained.values())


def catalogue_errors(config):
    """Models listed in `models` that are neither a family of the catalogue nor an entry under `estimators`, and
    entries that name no estimator."""
    from snaketrain.estimators import FAMILIES

    entries = config.get("estimators") or {}
    models = config.get("models") or []
    problems = []
    undefined = [name for name in models if isinstance(name, str) and name not in entries and name not in FAMILIES]
    if undefined:
        known = [*FAMILIES, *(name for name in entries if name not in FAMILIES)]
        close = {name: difflib.get_close_matches(name, known, n=1, cutoff=0.6) for name in undefined}
        hints = "; ".join(f"did you mean {c[0]}?" for c in close.values() if c)
        problems.append(
            (
                f"models lists {', '.join(undefined)}, which is neither a family of the catalogue nor defined under "
                "`estimators`",
                f"list families ({', '.join(FAMILIES)}) or names defined under `estimators`"
                f"{'; ' + hints if hints else ''}",
                "models",
            )
        )
    for name, entry in entries.items():
        if isinstance(entry, dict) and "estimator" not in entry and name not in FAMILIES:
            problems.append(
                (
                    f"estimators.{name} names no estimator, and '{name}' is not a family of the catalogue",
                    f"add `estimator:` (one of {', '.join(FAMILIES)}, or a scikit-learn class path)",
                    f"estimators.{name}",
                )
            )
    return problems


def config_error(config, schema_path, configfiles=(), schema_checked=False):
    """A ConfigError describing every problem in config, or None if it is valid (schema_checked: the config
    passed the schema already, e.g. Snakemake's validate(), so only what the schema cannot say is checked)."""
    problems = [] if schema_checked else schema_errors(config, schema_path)
    problems = problems or catalogue_errors(config)
    if not problems:
        return None
    sources = ", ".join(str(Path(f)) for f in configfiles) or "config/config.yaml"
    if len(problems) == 1:
        problem, fix, key = problems[0]
        return ConfigError(problem, fix, f"config key {key} (config files: {sources}; and --config values)")
    lines = [f"{len(problems)} problems in the config:"]
    fixes = []
    for problem, fix, _ in problems:
        lines.append(f"  - {problem}")
        fixes.append(fix)
    keys = ", ".join(dict.fromkeys(key for _, _, key in problems))
    return ConfigError(
        "\n".join(lines),
        "\n    ".join(["one per problem:", *fixes]),
        f"config keys {keys} (config files: {sources}; and --config values)",
    )


def yaml_syntax_error(path):
    """A ConfigError naming file, line and column if the file is not valid YAML (JSON is YAML), else None."""
    import yaml

    try:
        yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # from text, so that the error can show the line
    except UnicodeDecodeError as error:
        return ConfigError(f"{path} is not UTF-8 text (byte {error.start})", "save the config file as UTF-8", str(path))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(error.problem or error.context or "syntax error").split())
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown place"
        snippet = mark.get_snippet() if mark else None
        shown = "\n" + "\n".join(f"    {line}" for line in snippet.splitlines()) if snippet else ""
        return ConfigError(
            f"{path} is not valid YAML: {problem} at {place}{shown}",
            "correct the YAML at that place (indent with spaces, never tabs; put a space after each ':'; "
            "quote values that hold ': ' or start with a special character)",
            f"{path}, {place}",
        )
    except yaml.YAMLError as error:
        return ConfigError(f"{path} is not valid YAML: {' '.join(str(error).split())}", "correct the YAML", str(path))
    return None


def check_configfile_syntax(argv=None):
    """Stop with file, line and column when a --configfile given on the command line is not valid YAML.

    Snakemake reads those files while it parses its command line, before any workflow code runs, and
    reports a syntax error without file or place ("Config file is not valid JSON or YAML"). The workflow's
    default profile (profiles/local/config.yaml) calls this while Snakemake loads it, just before.
    """
    import argparse
    import sys

    # no abbreviations: --config (a Snakemake option of its own) must not read as --configfile
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[])
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    for path in known.configfile:
        error = yaml_syntax_error(path) if Path(path).is_file() else None
        if error is not None:
            print(error, file=sys.stderr)
            raise SystemExit(1)


def own_options(argv=None, with_config=True):
    """The user's --configfile (and --config) options as they typed them, quoted for a shell: the commands a fix
    suggests repeat them, so that they run on the user's config ('' when there are none)."""
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[])
    parser.add_argument("--config", "-C", nargs="+", action="extend", default=[])
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    words = ["--configfile", *known.configfile] if known.configfile else []
    if with_config and known.config:
        words += ["--config", *known.config]
    return shlex.join(words)
