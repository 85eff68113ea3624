# Config loading and validation, params and input functions (hooks: snaketrain.orchestration.hooks; report labels: .report_labels).
import hashlib
import json
import os
import time
from copy import deepcopy
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from snaketrain.orchestration import report_labels

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

# {model} patterns that input functions fill in: plain strings, because with a default storage provider
# rules.<name>.output carries storage flags, which expand() and str.format() cannot take
MODEL_FILE = "results/models/{model}.joblib"
MODEL_ESTIMATOR = "results/estimators/{model}.json"
MODEL_METRICS = "results/evaluation/{model}/metrics.json"
MODEL_PARAMS = "results/tuning/{model}/best_params.json"
MODEL_PLOT = "results/evaluation/{model}/plot.png"
MODEL_IMPORTANCE = "results/evaluation/{model}/importance.png"
DATASET = config["data"]["name"]
MODELS = config["models"]
REGISTRY = config["registry"]["path"]
# the registered model name (REGISTRY_API.md); the MLflow registered model and experiment share it
MODEL_NAME = config["registry"]["model_name"] or DATASET
# stage logs written after this moment belong to this run (read by the failure summary)
RUN_STARTED = time.time()


wildcard_constraints:
    model="|".join(MODELS),


# ---- params: each rule gets exactly the config it reads, so a change reruns only what reads it


def acquire_settings():
    keys = ("source", "builtin", "path", "url", "format", "delimiter", "encoding")
    keys += ("download_retries", "sql_url_env", "sql_query")
    return {key: config["data"][key] for key in keys}


def custom_code():
    custom = config["features"]["custom"]
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


def column_overrides():
    # the features.* keys that say what a column is: validation reports each column's kind with them
    keys = ("dates", "text", "encoding", "max_categories")
    return {key: config["features"][key] for key in keys}


def model_spec(wildcards):
    return estimator_entry(wildcards.model)


def estimator_entry(model):
    # a family of the catalogue needs no entry under `estimators`, and an entry named after one no `estimator:`
    return {"estimator": model, **config["estimators"].get(model, {})}


def registered_config():
    """The config sections a registered model depends on, recorded in its metadata."""
    sections = "data validation split features tuning selection gate".split()
    return {section: config[section] for section in sections}


# ---- resources (memory_mb and cpus_per_task come from snaketrain.orchestration.job_resources)


def model_gpus(wildcards):
    # None leaves the resource unset: the kubernetes executor rejects a gpu resource (even 0) without
    # gpu_manufacturer, and the slurm executor adds --gpus only for a positive count
    gpus = estimator_entry(wildcards.model).get("resources", {}).get("gpu", 0)
    return gpus or None


# ---- input functions (output paths are written once, in the rules; these refer to them)


def acquire_inputs(wildcards):
    # a local file is an input, so that editing it reruns the pipeline; if it is missing, the
    # stage itself explains the problem instead of Snakemake's generic "missing input"
    path = config["data"]["path"]
    if config["data"]["source"] == "file" and path and Path(path).is_file():
        return {"file": path}
    return {}


def gate_decision():
    return json.loads(Path(checkpoints.quality_gate.get().output.decision).read_text())


def best_model_file(pattern):
    """An input function giving the file of the model the gate chose, from a {model} output pattern."""

    def of_best_model(wildcards):
        return pattern.format(model=gate_decision()["model"])

    return of_best_model


def predict_input(wildcards):
    # explained here, instead of Snakemake's generic "missing input"
    return predict_input_path(config["predict"]["input"])


def production_pointer(wildcards):
    return existing_production_path(REGISTRY, MODEL_NAME)


def predictions_path():
    stem = Path(config["predict"]["input"] or "input").stem
    return f"results/predictions/{stem}.parquet"


# ---- targets


def gate_outcome(wildcards):
    """The last file of the branch the gate chose: the deploy receipt, or the alert."""
    if gate_decision()["passed"]:
        return rules.deploy_model.output.receipt
    return rules.raise_alert.output.alert


def final_targets(wildcards):
    """Everything a full run ends with: the comparison, one branch of the gate, the report pages, and the
    MLflow mirror's receipt when tracking is on; with monitoring.retrain on_drift or never, the drift check first
    (rules/monitoring.smk), and the rest only when it calls for a retrain."""
    if not retrain_after_check():
        return drift_targets()
    targets = drift_targets() + [
        rules.compare_models.output.table,
        gate_outcome(wildcards),
        rules.summarize_run.output.gate,
    ]
    if mlflow_tracking():
        targets.append(rules.mirror_mlflow.output.receipt)
    return targets


def mlflow_tracking():
    # never a param: the URI may hold a password, and params are recorded in .snakemake/
    return tracking_from(config["tracking"]["mlflow_uri"], os.environ)
