"""Experiments: named overlays on the base config (config/experiments.yaml), sweeps expanded into experiments, and
the keys by which experiments share the work that does not depend on what differs between them.

Pure functions: the workflow (workflow/rules/common.smk) and the `snaketrain experiments` command call them.
"""

import hashlib
import json
from pathlib import Path

from snaketrain.layout import Layout, registered_name
from snaketrain.orchestration.experiments_file import DEFAULT_FILE, deep_merge, overlays
from snaketrain.stage_log import ConfigError

# what a shared folder's key hashes: enough hex digits that two settings never meet in practice, few enough to read
KEY_DIGITS = 10


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


def selected(names, only):
    """The experiments a run brings up to date: all, or those `only` names (a list, or a comma-separated string
    as --config only=a,b gives it)."""
    if only is None:
        return list(names)
    wanted = [part.strip() for part in only.split(",")] if isinstance(only, str) else list(only)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ConfigError(
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
    return [Path(folder) for folder in Layout(experiments=True).log_folders(name, shared_folders(cfg), logs)]


def registered_sections(cfg):
    """The config sections a registered model depends on, recorded in its metadata."""
    sections = ["data", "validation", "split", "features", "tuning", "selection", "gate"]
    return {section: cfg[section] for section in sections}


def estimator_entries(cfg):
    return {model: estimator_entry(model, cfg) for model in cfg["models"]}


class Experiments:
    """The experiments of one run and what the rules ask about them: which experiment's config a job reads, where
    its shared folders are, which experiments register under a name. With no experiments file it holds none, and
    every answer is the one config's (its layout has no experiment or shared folders).

    A shared folder (data, features, fit) is read by every experiment whose settings for it are equal; its jobs
    read the config of the first such experiment (its owner), which agrees with the others where it matters.
    """

    def __init__(self, base, configs=None, sweep_of=None, only=None, where=DEFAULT_FILE, overlays=None):
        self.base = base
        self.configs = configs or {}
        self.sweep_of = sweep_of or {}
        self.overlays = overlays or {}  # what each experiment sets, as written (a sweep's point included)
        self.where = where
        self.selected = selected(list(self.configs), only) if self.configs else []
        self.layout = Layout(experiments=bool(self.configs), dataset=base["data"]["name"])
        self.keys = {name: shared_folders(cfg) for name, cfg in self.configs.items()}
        # the owner of each shared folder, by scope: the first experiment that reads it
        self.owners = {"dataset": {}, "data": {}, "features": {}, "fit": {}}
        for name, keys in self.keys.items():
            for scope in ("dataset", "data", "features"):
                self.owners[scope].setdefault(keys[scope], name)
            for fit in keys["fit"].values():
                self.owners["fit"].setdefault(fit, name)
        self.check_agree()

    @classmethod
    def load(cls, config, given, schema_path, configfiles):
        """The experiments config.experiments points at, each overlay laid on the config as given and checked."""
        overlaid, sweep_of = overlays(config["experiments"])
        where = config["experiments"]["file"]
        configs = {
            name: experiment_config(name, overlay, given, schema_path, configfiles, where)
            for name, overlay in overlaid.items()
        }
        return cls(config, configs, sweep_of, config["only"], where, overlaid)

    def __bool__(self):
        return bool(self.configs)

    def check_agree(self):
        """Refuse experiments that would share a file but read it differently: one data.name from two sources, or
        two registries (promotion compares the experiments of one name in one registry)."""
        conflict = first_conflict(self.configs, acquire_settings)
        if conflict:
            dataset, first, second = conflict
            raise ConfigError(
                f"experiments {first} and {second} give data.name {dataset} different sources "
                "(data.source, path, url, ...)",
                "give one of them its own data.name, or the same source",
                f"{self.where}, experiments {first} and {second}",
            )
        if problem := positive_class_error(self.configs, self.where):
            raise problem  # one registered name's F1s must be of one class
        paths = {cfg["registry"]["path"] for cfg in self.configs.values()}
        if len(paths) > 1:
            raise ConfigError(
                f"the experiments use {len(paths)} registries ({', '.join(sorted(paths))})",
                "set registry.path in the base config only",
                self.where,
            )

    # ---- what wildcards may be

    def wildcard_constraints(self):
        """{wildcard: a regular expression matching exactly the values config allows (nothing when none)}."""
        return {key: "|".join(sorted(values)) or "(?!)" for key, values in self.wildcard_values().items()}

    def wildcard_values(self):
        """{wildcard: the values config allows}."""
        models = set(self.base["models"]).union(*(cfg["models"] for cfg in self.configs.values()))
        return {
            "model": models,
            "experiment": set(self.configs),
            "dataset": set(self.owners["dataset"]),
            "data": set(self.owners["data"]),
            "features": set(self.owners["features"]),
            "fit": set(self.owners["fit"]),
            "name": set(self.names()),
        }

    # ---- which config a job reads

    def owner(self, wildcards):
        """The experiment whose config a job with these wildcards reads (None with no experiments)."""
        if not self.configs:
            return None
        if "experiment" in wildcards:
            return wildcards["experiment"]
        for scope in ("fit", "features", "data", "dataset"):
            if scope in wildcards:
                return self.owners[scope][wildcards[scope]]
        raise ValueError(f"no experiment for the wildcards {dict(wildcards)}")

    def config_of(self, wildcards):
        """The config a job reads: its experiment's, or the one config."""
        name = self.owner(wildcards)
        return self.base if name is None else self.configs[name]

    def fill(self, pattern, wildcards, **values):
        """pattern with the job's wildcards, the values given and its experiment's shared folders filled in."""
        known = dict(wildcards)
        name = self.owner(wildcards)
        if name is not None:
            keys = self.keys[name]
            known.update(dataset=keys["dataset"], data=keys["data"], features=keys["features"])
        known.update(values)
        if name is not None and "model" in known:
            known["fit"] = self.keys[name]["fit"][known["model"]]
        return pattern.format(**known)

    def per_model(self, pattern, wildcards):
        """pattern filled in once per model of the job's config."""
        return [self.fill(pattern, wildcards, model=model) for model in self.config_of(wildcards)["models"]]

    # ---- registered names

    def names(self, only_selected=False):
        """The registered names the experiments (the selected ones) register under, sorted."""
        chosen = self.selected if only_selected else self.configs
        return sorted({registered_name(self.configs[name]) for name in chosen})

    def registering_under(self, name):
        """The selected experiments that register under a name, in order."""
        return [e for e in self.selected if registered_name(self.configs[e]) == name]

    def base_experiment(self):
        """The experiment whose files stand for the base config's data (the drift check's): one sharing its
        data.name, else the first."""
        return self.owners["dataset"].get(self.base["data"]["name"]) or next(iter(self.configs))

    def base_file(self, pattern):
        """pattern filled in for the base config's data (the path itself with no experiments)."""
        if not self.configs:
            return pattern
        return self.fill(pattern, {"experiment": self.base_experiment()})

    # ---- the rules' inputs and the run's targets (decision_of(experiment) reads a gate's decision: a checkpoint)

    def setting(self, wildcards, first, *keys):
        """The job's config value at keys, or first(the job's config) when first is a function."""
        value = self.config_of(wildcards)
        if callable(first):
            return first(value)
        for key in (first, *keys):
            value = value[key]
        return value

    def gate_branch(self, wildcards, passed):
        """The last file of the branch the gate chose: the deploy receipt (with experiments the registry receipt:
        the name's deploy job promotes the best of them), or the alert."""
        if passed and not self.configs:
            return self.layout.output("deploy_model", "receipt")
        branch = ("register_model", "receipt") if passed else ("raise_alert", "alert")
        return self.fill(self.layout.output(*branch), wildcards)

    def deploy_inputs(self, name, decision_of):
        """The gate decisions and registered receipts a deploy promotes from: the run's own, or those of every
        selected experiment registering under the name (the best passed one is promoted)."""
        if not self.configs:
            decision = decision_of(None)
            return {"decision": decision["path"], "receipt": self.layout.output("register_model", "receipt")}
        inputs = {"decision": [], "receipt": []}
        for experiment in self.registering_under(name):
            decision = decision_of(experiment)
            inputs["decision"].append(decision["path"])
            if decision["passed"]:
                inputs["receipt"].append(self.layout.experiment_file("register_model", "receipt", experiment))
        return inputs

    def deploy_receipts(self):
        """Each selected registered name's deploy receipt (with experiments)."""
        receipt = self.layout.output("deploy_model", "receipt")
        return [receipt.format(name=name) for name in self.names(only_selected=True)]

    def table_inputs(self):
        """What the table of experiments waits for: each selected experiment's comparison and gate page, each
        name's deploy."""
        return {
            "tables": [self.layout.experiment_file("compare_models", "table", e) for e in self.selected],
            "pages": [self.layout.experiment_file("summarize_run", "gate", e) for e in self.selected],
            "deployed": self.deploy_receipts(),
        }

    def targets(self, tracking, decision_of):
        """What a full run ends with: per experiment (or for the one config) the comparison, the gate's page and
        branch and the MLflow receipt when tracking is on; with experiments a deploy per registered name and the
        table of experiments."""
        files = [self.layout.output("compare_models", "table"), self.layout.output("summarize_run", "gate")]
        if tracking:
            files.append(self.layout.output("mirror_mlflow", "receipt"))
        if not self.configs:
            return files + [self.gate_branch({}, decision_of(None)["passed"])]
        # summarize_run waits for each experiment's gate branch itself, so that every experiment is planned at once
        targets = [path.format(experiment=e) for e in self.selected for path in files]
        return targets + self.deploy_receipts() + list(self.layout.outputs("compare_experiments").values())

    def compared(self, tracked_config):
        """What the table of experiments reads: the base config and each selected experiment's config (as
        tracked_config shows it: no tracking URI), sweep and overlay."""
        return {
            "base": tracked_config(self.base),
            "configs": {e: tracked_config(self.configs[e]) for e in self.selected},
            "sweeps": {e: self.sweep_of.get(e) for e in self.selected},
            "overlays": {e: self.overlays.get(e, {}) for e in self.selected},
        }

    # ---- functions of a job's wildcards, for the rules' params and inputs (Snakemake passes its Wildcards, a
    # named list: dict(items()) makes it a mapping)

    def job_config(self, first, *keys):
        """A param: the job's config value at keys (job_config("split", "seed")), or first(its config)."""

        def of_job(wildcards):
            return self.setting(dict(wildcards.items()), first, *keys)

        return of_job

    def in_folder(self, pattern):
        """An input in another scope's folder (shared, or per model), as the job's experiment places it."""

        def in_its_folder(wildcards):
            return self.fill(pattern, dict(wildcards.items()))

        return in_its_folder

    def each_model(self, pattern):
        """An input: pattern once per model of the job's config."""

        def of_each_model(wildcards):
            return self.per_model(pattern, dict(wildcards.items()))

        return of_each_model

    def model_spec(self, wildcards):
        """The job's model entry: its catalogue family with the config's estimators.<model> settings."""
        return estimator_entry(wildcards["model"], self.config_of(dict(wildcards.items())))

    def model_gpus(self, wildcards):
        # None leaves the resource unset: the kubernetes executor rejects a gpu resource (even 0) without
        # gpu_manufacturer, and the slurm executor adds --gpus only for a positive count
        return self.model_spec(wildcards).get("resources", {}).get("gpu", 0) or None

    def acquire_inputs(self, wildcards):
        """A local data file is an input, so that editing it reruns the pipeline (a missing one is explained by
        the stage, not by Snakemake's generic missing input)."""
        data = self.config_of(dict(wildcards.items()))["data"]
        if data["source"] == "file" and data["path"] and Path(data["path"]).is_file():
            return {"file": data["path"]}
        return {}

    def deploy_name(self, wildcards):
        """The registered name a deploy job promotes."""
        return wildcards.get("name") or registered_name(self.base)

    def deploy_experiments(self, wildcards):
        """The selected experiments a deploy job compares (those registering under its name)."""
        return self.registering_under(wildcards["name"])

    def sweep(self, wildcards):
        return self.sweep_of.get(wildcards["experiment"])

    def name_deploy(self, wildcards):
        """The deploy receipt of the job's experiment's registered name."""
        name = registered_name(self.config_of(dict(wildcards.items())))
        return self.layout.output("deploy_model", "receipt").format(name=name)
