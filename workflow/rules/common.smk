# Config loading and validation, params and input functions (hooks: snaketrain.orchestration.hooks; report labels: .report_labels).
import json
import os
import time
from copy import deepcopy
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from snaketrain.orchestration import experiments, report_labels
from snaketrain.orchestration.experiments import (
    acquire_settings,
    column_overrides,
    custom_code,
    estimator_entry,
)

# stage_code(rule): a digest of the rule's stage module and what it imports; editing it reruns the rules that use it
from snaketrain.orchestration.code_digest import stage_code
from snaketrain.orchestration.config_check import config_error
from snaketrain.stage_log import ConfigError
from snaketrain.orchestration.job_resources import cpus_per_task, memory_mb
from snaketrain.tracking.mlflow_mirror import tracked_config, tracking_from
from snaketrain.stages.predict import existing_production_path, predict_input_path

# Before anything is planned, Snakemake's validate() checks the config and fills in the schema's defaults; if
# it finds a problem, config_error names every problem in the config as given, with key and fix.
_given = deepcopy(config)
_schema = Path(workflow.current_basedir) / ".." / "schemas" / "config.schema.yaml"
try:
    validate(config, schema="../schemas/config.schema.yaml")
    _problem = config_error(_given, _schema, workflow.configfiles, schema_checked=True)
except WorkflowError as error:
    _problem = config_error(_given, _schema, workflow.configfiles) or error
if _problem:
    raise _problem

# ---- params: each rule gets exactly the config it reads, so a change reruns only what reads it (each of these
# reads the config it is given: the one config, or an experiment's)


# acquire_settings, custom_code, column_overrides, estimator_entry: in snaketrain.orchestration.experiments


def model_spec(wildcards):
    return estimator_entry(wildcards.model, cfg(wildcards))


def estimator_entries(cfg):
    return {model: estimator_entry(model, cfg) for model in cfg["models"]}


def registered_config(cfg):
    """The config sections a registered model depends on, recorded in its metadata."""
    sections = "data validation split features tuning selection gate".split()
    return {section: cfg[section] for section in sections}


model_name = experiments.registered_name


def any_of(values):
    """A wildcard constraint matching exactly these values (nothing when there are none)."""
    return "|".join(sorted(values)) or "(?!)"


def experiment_config(name, overlay):
    """The base config as given with the experiment's overlay, checked against the schema, defaults filled in."""
    where = config["experiments"]["file"]
    return experiments.experiment_config(
        name, overlay, _given, _schema, workflow.configfiles, where
    )


def check_experiments_agree():
    """Refuse experiments that would share a file but read it differently: one data.name from two sources, or
    two registries (promotion compares the experiments of one name in one registry)."""
    where = f"{config['experiments']['file']}"
    conflict = experiments.first_conflict(EXPERIMENTS, acquire_settings)
    if conflict:
        dataset, first, second = conflict
        raise ConfigError(
            f"experiments {first} and {second} give data.name {dataset} different sources (data.source, path, url, ...)",
            "give one of them its own data.name, or the same source",
            f"{where}, experiments {first} and {second}",
        )
    if problem := experiments.positive_class_error(EXPERIMENTS, where):
        raise problem  # one registered name's F1s must be of one class
    paths = {c["registry"]["path"] for c in EXPERIMENTS.values()}
    if len(paths) > 1:
        raise ConfigError(
            f"the experiments use {len(paths)} registries ({', '.join(sorted(paths))})",
            "set registry.path in the base config only",
            where,
        )


# Experiments (config/experiments.yaml, orchestration/experiments.py): each a validated config; none = one config,
# today's layout (every path part below is then empty, as PyPSA-Eur does with an unset run.name)
_overlays, SWEEP_OF = experiments.overlays(config["experiments"])
EXPERIMENTS = {
    name: experiment_config(name, overlay) for name, overlay in _overlays.items()
}
SELECTED = (
    experiments.selected(list(EXPERIMENTS), config["only"]) if EXPERIMENTS else []
)

# Path parts: per experiment, and shared by the experiments whose settings for that part are equal
EXPERIMENT = "{experiment}/" if EXPERIMENTS else ""
SHARED_DATASET = "_shared/{dataset}/" if EXPERIMENTS else ""
SHARED_DATA = "_shared/data-{data}/" if EXPERIMENTS else ""
SHARED_FEATURES = "_shared/features-{features}/" if EXPERIMENTS else ""
# the report groups each experiment's pages under its name (None: no subcategory, as before)
REPORT_GROUP = "{experiment}" if EXPERIMENTS else None
# a model's tuning, training and evaluation: shared by the experiments with the same features, entry and tuning
SHARED_FIT = "_shared/fit-{fit}/" if EXPERIMENTS else ""

# {model} patterns that input functions fill in: plain strings, because with a default storage provider
# rules.<name>.output carries storage flags, which expand() and str.format() cannot take
MODEL_FILE = f"results/{SHARED_FIT}models/{{model}}.joblib"
MODEL_ESTIMATOR = f"results/{SHARED_FIT}estimators/{{model}}.json"
MODEL_METRICS = f"results/{SHARED_FIT}evaluation/{{model}}/metrics.json"
MODEL_ANSWERS = f"results/{SHARED_FIT}evaluation/{{model}}/answers.parquet"
MODEL_PARAMS = f"results/{SHARED_FIT}tuning/{{model}}/best_params.json"
MODEL_PLOT = f"results/{SHARED_FIT}evaluation/{{model}}/plot.png"
MODEL_IMPORTANCE = f"results/{SHARED_FIT}evaluation/{{model}}/importance.png"
# with experiments, one deploy per registered name: its promotions in one folder beside the experiments'
DEPLOY_PART = "_deploy/{name}/" if EXPERIMENTS else ""
# per-experiment and per-name files that input and target functions fill in (plain strings, as above)
COMPARISON_TABLE = f"results/{EXPERIMENT}comparison/metrics.csv"
GATE_PAGE = f"results/{EXPERIMENT}report/gate.html"
REGISTERED = f"results/{EXPERIMENT}registry/receipt.json"
ALERT = f"results/{EXPERIMENT}alerts/alert.json"
MLFLOW_RECEIPT = f"results/{EXPERIMENT}mlflow/receipt.json"
DEPLOYED = f"results/{DEPLOY_PART}deploy/receipt.json"
DATASET = config["data"]["name"]
DATA_FILE = (
    "resources/data/{dataset}.parquet"
    if EXPERIMENTS
    else f"resources/data/{DATASET}.parquet"
)
MODELS = config["models"]
REGISTRY = config["registry"]["path"]
# the registered model name (REGISTRY_API.md); the MLflow registered model and experiment share it
MODEL_NAME = config["registry"]["model_name"] or DATASET
# stage logs written after this moment belong to this run (read by the failure summary)
RUN_STARTED = time.time()

# Which experiment's config a shared folder's jobs read (any of those sharing it: equal where it matters)
DATASET_OWNER, DATA_OWNER, FEATURES_OWNER, FIT_OWNER = {}, {}, {}, {}
DATA_KEY, FEATURES_KEY, FIT_KEY = {}, {}, {}
for _name, _cfg in EXPERIMENTS.items():
    _keys = experiments.shared_folders(_cfg)
    DATA_KEY[_name], FEATURES_KEY[_name] = _keys["data"], _keys["features"]
    DATASET_OWNER.setdefault(_cfg["data"]["name"], _name)
    DATA_OWNER.setdefault(DATA_KEY[_name], _name)
    FEATURES_OWNER.setdefault(FEATURES_KEY[_name], _name)
    for _model, _fit in _keys["fit"].items():
        FIT_KEY[_name, _model] = _fit
        FIT_OWNER.setdefault(_fit, _name)
check_experiments_agree()
NAMES = sorted({model_name(c) for c in EXPERIMENTS.values()})
NAMES_SELECTED = sorted({model_name(EXPERIMENTS[n]) for n in SELECTED})
# what the end-of-run summary reads: the selected experiments' configs (no tracking URI) and the names' deploys
SELECTED_CONFIGS = {name: tracked_config(EXPERIMENTS[name]) for name in SELECTED}
EXPERIMENTS_TABLE = ["results/experiments.csv", "results/experiments.md"]
EXPERIMENTS_TABLE.append("results/report/experiments.html")
DEPLOYS = [DEPLOYED.format(name=n) for n in NAMES_SELECTED]


wildcard_constraints:
    model=any_of(set(MODELS).union(*(c["models"] for c in EXPERIMENTS.values()))),
    experiment=any_of(EXPERIMENTS),
    dataset=any_of(DATASET_OWNER),
    data=any_of(DATA_OWNER),
    features=any_of(FEATURES_OWNER),
    fit=any_of(FIT_OWNER),
    name=any_of(NAMES),


# ---- experiments: which config a job reads, and its files in other folders


def owner(wildcards):
    """The experiment whose config a job reads (None with one config)."""
    if not EXPERIMENTS:
        return None
    for key, owners in (
        ("experiment", None),
        ("fit", FIT_OWNER),
        ("features", FEATURES_OWNER),
        ("data", DATA_OWNER),
        ("dataset", DATASET_OWNER),
    ):
        value = getattr(wildcards, key, None)
        if value is not None:
            return value if owners is None else owners[value]
    raise WorkflowError(f"no experiment for the wildcards {dict(wildcards.items())}")


def cfg(wildcards):
    """The config of a job: the one config, or its experiment's."""
    return EXPERIMENTS[owner(wildcards)] if EXPERIMENTS else config


def setting(first, *keys):
    """A rule's param: the config value at keys (setting("split", "seed")), or first(config) when first is a
    function; a value with one config (as before), read per job with experiments."""

    def read(cfg):
        if callable(first):
            return first(cfg)
        value = cfg[first]
        for key in keys:
            value = value[key]
        return value

    if not EXPERIMENTS:
        return read(config)

    def of_job(wildcards):
        return read(cfg(wildcards))

    return of_job


def fill(pattern, wildcards, **values):
    """pattern with the job's wildcards and the shared folders of its experiment filled in."""
    known = dict(wildcards.items())
    name = owner(wildcards)
    if name is not None:
        known.update(
            dataset=EXPERIMENTS[name]["data"]["name"],
            data=DATA_KEY[name],
            features=FEATURES_KEY[name],
        )
    known.update(values)
    if name is not None and "model" in known:
        known["fit"] = FIT_KEY[name, known["model"]]
    return pattern.format(**known)


def shared_file(pattern):
    """An input in another folder (shared, or per model): the path itself with one config, a function with
    experiments."""
    if not EXPERIMENTS:
        return pattern

    def in_its_folder(wildcards):
        return fill(pattern, wildcards)

    return in_its_folder


def per_model(pattern):
    """One file per model of the job's config."""
    if not EXPERIMENTS:
        return expand(pattern, model=MODELS)

    def of_each_model(wildcards):
        return [fill(pattern, wildcards, model=m) for m in cfg(wildcards)["models"]]

    return of_each_model


# ---- resources (memory_mb and cpus_per_task come from snaketrain.orchestration.job_resources)


def model_gpus(wildcards):
    # None leaves the resource unset: the kubernetes executor rejects a gpu resource (even 0) without
    # gpu_manufacturer, and the slurm executor adds --gpus only for a positive count
    gpus = model_spec(wildcards).get("resources", {}).get("gpu", 0)
    return gpus or None


# ---- input functions (output paths are written once, in the rules; these refer to them)


def acquire_inputs(wildcards):
    # a local file is an input, so that editing it reruns the pipeline; if it is missing, the
    # stage itself explains the problem instead of Snakemake's generic "missing input"
    data = cfg(wildcards)["data"]
    if data["source"] == "file" and data["path"] and Path(data["path"]).is_file():
        return {"file": data["path"]}
    return {}


def gate_checkpoint(experiment=None):
    if experiment is None:
        return checkpoints.quality_gate.get()
    return checkpoints.quality_gate.get(experiment=experiment)


def gate_decision(wildcards=None):
    experiment = getattr(wildcards, "experiment", None) if EXPERIMENTS else None
    decision = gate_checkpoint(experiment).output.decision
    return json.loads(Path(decision).read_text())


def best_model_file(pattern):
    """An input function giving the file of the model the gate chose, from a {model} output pattern."""

    def of_best_model(wildcards):
        best = gate_decision(wildcards)["model"]
        return (
            fill(pattern, wildcards, model=best)
            if EXPERIMENTS
            else pattern.format(model=best)
        )

    return of_best_model


def base_file(pattern):
    """A file of the base config's data (the drift check's): with experiments, that of one sharing its data.name."""
    if not EXPERIMENTS:
        return pattern
    name = DATASET_OWNER.get(DATASET) or next(iter(EXPERIMENTS))
    keys = {"dataset": EXPERIMENTS[name]["data"]["name"], "data": DATA_KEY[name]}
    return pattern.format(experiment=name, features=FEATURES_KEY[name], **keys)


def predict_input(wildcards):
    # explained here, instead of Snakemake's generic "missing input"
    return predict_input_path(config["predict"]["input"])


def production_pointer(wildcards):
    return existing_production_path(REGISTRY, MODEL_NAME)


def predictions_path():
    stem = Path(config["predict"]["input"] or "input").stem
    return f"results/predictions/{stem}.parquet"


def deploy_inputs(wildcards):
    """The gate decision and registered receipt deploy_model promotes from: the run's own with one config; with
    experiments, those of every selected experiment registering under the name (the best passed one is promoted).
    """
    if not EXPERIMENTS:
        return {
            "decision": rules.quality_gate.output.decision,
            "receipt": rules.register_model.output.receipt,
        }
    inputs = {"decision": [], "receipt": []}
    for name in SELECTED:
        if model_name(EXPERIMENTS[name]) != wildcards.name:
            continue
        decision = gate_checkpoint(name).output.decision
        inputs["decision"].append(decision)
        if json.loads(Path(decision).read_text())["passed"]:
            inputs["receipt"].append(REGISTERED.format(experiment=name))
    return inputs


def experiment_params():
    """The params a per-experiment rule gets with experiments (none with one config, so its params stay as they were)."""
    if not EXPERIMENTS:
        return {}
    return {"experiment": "{experiment}", "sweep": sweep_of}


def sweep_of(wildcards):
    return SWEEP_OF.get(wildcards.experiment)


def experiment_deploy():
    """With experiments, the deploy receipt of the experiment's name (the promotion it may have won)."""
    if not EXPERIMENTS:
        return {}

    def name_deploy(wildcards):
        return DEPLOYED.format(name=model_name(cfg(wildcards)))

    return {"deployed": name_deploy}


def experiments_of(wildcards):
    """The selected experiments registering under the deploy job's name, in the order of its inputs."""
    return [n for n in SELECTED if model_name(EXPERIMENTS[n]) == wildcards.name]


# ---- targets


def gate_outcome(wildcards):
    """The last file of the branch the gate chose: the deploy receipt (with experiments the registry receipt: the
    name's deploy job promotes the best of them), or the alert."""
    if gate_decision(wildcards)["passed"]:
        if EXPERIMENTS:
            return fill(REGISTERED, wildcards)
        return rules.deploy_model.output.receipt
    return fill(ALERT, wildcards) if EXPERIMENTS else rules.raise_alert.output.alert


def final_targets(wildcards):
    """Everything a full run ends with: the comparison, one branch of the gate, the report pages, and the
    MLflow mirror's receipt when tracking is on; with monitoring.retrain on_drift or never, the drift check first
    (rules/monitoring.smk), and the rest only when it calls for a retrain. With experiments, that for each selected
    experiment, a deploy per registered name, and the table of experiments."""
    if not retrain_after_check():
        return drift_targets()
    if EXPERIMENTS:
        return drift_targets() + experiment_targets()
    targets = drift_targets() + [
        rules.compare_models.output.table,
        gate_outcome(wildcards),
        rules.summarize_run.output.gate,
    ]
    if mlflow_tracking():
        targets.append(rules.mirror_mlflow.output.receipt)
    return targets


def experiment_targets():
    # summarize_run waits for each experiment's gate branch itself, so that every experiment is planned at once
    per_experiment = [COMPARISON_TABLE, GATE_PAGE]
    if mlflow_tracking():
        per_experiment.append(MLFLOW_RECEIPT)
    targets = [
        path.format(experiment=name) for name in SELECTED for path in per_experiment
    ]
    targets += [DEPLOYED.format(name=n) for n in NAMES_SELECTED]
    return targets + EXPERIMENTS_TABLE


def experiments_results(wildcards):
    """What the table of experiments waits for: each selected experiment's comparison and gate branch, each name's
    deploy (plain paths, so that a default storage provider applies to them)."""
    return {
        "tables": [COMPARISON_TABLE.format(experiment=n) for n in SELECTED],
        "pages": [GATE_PAGE.format(experiment=n) for n in SELECTED],
        "deployed": [DEPLOYED.format(name=n) for n in NAMES_SELECTED],
    }


def mlflow_tracking():
    # never a param: the URI may hold a password, and params are recorded in .snakemake/
    return tracking_from(config["tracking"]["mlflow_uri"], os.environ)
