# Config validation, then the accessors and input functions the rules use. The bookkeeping behind them lives in
# tested modules: the paths in snaketrain.layout, the experiments in snaketrain.orchestration.experiments.
import json
import os
import time
from copy import deepcopy
from functools import reduce
from pathlib import Path

from snaketrain.layout import registered_name
from snaketrain.orchestration import report_labels
from snaketrain.orchestration.code_digest import stage_code
from snaketrain.orchestration.config_check import (
    config_error,
    own_options,
    with_defaults,
)
from snaketrain.orchestration import experiments as exps
from snaketrain.orchestration.job_resources import cpus_per_task, memory_mb
from snaketrain.tracking.mlflow_mirror import tracked_config, tracking_from
from snaketrain.data_files import predict_input_path
from snaketrain.registry.model_registry import existing_production_path

# The config is checked against the schema (jsonschema, as Snakemake's validate() does, but reading the schema
# with libyaml: validate() parses it in pure Python at every call, a tenth of a no-op's time), every problem named
# with key and fix; then the schema's defaults are filled in.
_given = deepcopy(config)
_schema = Path(workflow.current_basedir) / ".." / "schemas" / "config.schema.yaml"
_problem = config_error(_given, _schema, workflow.configfiles)
if _problem:
    raise _problem
config.update(with_defaults(_given, _schema))

EXPERIMENTS = exps.Experiments.load(config, _given, _schema, workflow.configfiles)
LAYOUT = EXPERIMENTS.layout
REGISTRY = config["registry"]["path"]
MODEL_NAME = registered_name(config)
# stage logs written after this moment belong to this run (read by the failure summary)
RUN_STARTED = time.time()
# the report groups each experiment's pages under its name
REPORT_GROUP = "{experiment}" if EXPERIMENTS else None


wildcard_constraints:
    **EXPERIMENTS.wildcard_constraints(),


def out(rule, name):
    return LAYOUT.output(rule, name)


# job_config reads the job's own config (its experiment's, or the one config); base_config reads the base
# config, for the rules that act on it alone (predict, check_drift, rollback_model, sync_mlflow)
job_config, in_folder, per_model = (
    EXPERIMENTS.job_config,
    EXPERIMENTS.in_folder,
    EXPERIMENTS.each_model,
)


def base_config(*keys):
    return reduce(lambda value, key: value[key], keys, config)


def best_model_file(pattern):
    """The file of the model the gate chose, from a {model} output pattern."""

    def of_best_model(wildcards):
        best = gate_decision(wildcards.get("experiment"))["model"]
        return EXPERIMENTS.fill(pattern, dict(wildcards.items()), model=best)

    return of_best_model


def gate_decision(experiment=None):
    """The gate's decision (a checkpoint's output), with its path."""
    gate = checkpoints.quality_gate.get(
        **({"experiment": experiment} if experiment else {})
    )
    path = gate.output.decision
    return {**json.loads(Path(path).read_text()), "path": path}


def deploy_inputs(wildcards):
    return EXPERIMENTS.deploy_inputs(wildcards.get("name"), gate_decision)


def gate_outcome(wildcards):
    passed = gate_decision(wildcards.get("experiment"))["passed"]
    return EXPERIMENTS.gate_branch(dict(wildcards.items()), passed)


def predict_input(wildcards):
    # explained here, instead of Snakemake's generic "missing input"
    return predict_input_path(
        config["predict"]["input"], own_options(with_config=False)
    )


def production_pointer(wildcards):
    return existing_production_path(REGISTRY, MODEL_NAME, own_options())


def mlflow_tracking():
    # never a param: the URI may hold a password, and params are recorded in .snakemake/
    return tracking_from(config["tracking"]["mlflow_uri"], os.environ)


def final_targets(wildcards):
    """The drift check first when monitoring.retrain is on_drift or never (monitoring.smk), and the rest of the
    run only when it calls for a retrain (Experiments.targets)."""
    if not retrain_after_check():
        return drift_targets()
    return drift_targets() + EXPERIMENTS.targets(mlflow_tracking(), gate_decision)


def experiments_results(wildcards):
    return EXPERIMENTS.table_inputs()


def experiments_compared():
    """What the table of experiments reads (compare_experiments and the end-of-run hooks)."""
    return EXPERIMENTS.compared(tracked_config)


def experiments_params():
    """compare_experiments' params: one short line per experiment and the base config's digest."""
    from snaketrain.orchestration.experiments_table import params_of

    compared = experiments_compared()
    return params_of(compared["base"], compared["overlays"], compared["sweeps"])
