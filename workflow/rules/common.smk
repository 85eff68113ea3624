import json
from pathlib import Path

import time

from snakemake.utils import validate

from snaketrain.code_digest import module_digest
from snaketrain.config_check import config_error

# Validate before anything is planned: a wrong key or value stops here, naming the key and the fix.
_config_problem = config_error(
    config,
    Path(workflow.basedir) / "schemas" / "config.schema.yaml",
    workflow.configfiles,
)
if _config_problem:
    raise _config_problem
# fills in the schema's defaults
validate(config, schema="../schemas/config.schema.yaml")

DATASET = config["data"]["name"]
MODELS = config["models"]
REGISTRY = config["registry"]["path"]
# the registered model name every registry step works on
MODEL_NAME = config["registry"]["model_name"] or DATASET
RAW_DATA = f"resources/data/{DATASET}.parquet"
# stage logs written after this moment belong to this run (used by the error summary)
RUN_STARTED = time.time()


wildcard_constraints:
    model="|".join(MODELS),


# ---- params: each rule gets exactly the config it reads, so a change reruns only what reads it


def acquire_settings():
    keys = ("source", "builtin", "path", "url", "format", "delimiter", "encoding")
    keys += ("download_retries", "sql_url_env", "sql_query")
    return {key: config["data"][key] for key in keys}


def model_spec(wildcards):
    return config["estimators"][wildcards.model]


def registered_config():
    """The config sections a registered model depends on, recorded in its metadata."""
    sections = (
        "data",
        "validation",
        "split",
        "features",
        "tuning",
        "selection",
        "gate",
    )
    return {section: config[section] for section in sections}


def stage_code(module):
    """A digest of a stage module and what it imports: editing it reruns the rules that use it."""
    return module_digest(module)


# ---- resources: memory grows with each retry of a job that ran out of it


def memory_mb(base):
    def grow(wildcards, attempt):
        return base * attempt

    return grow


def model_gpus(wildcards):
    # None leaves the resource unset: the kubernetes executor rejects a gpu resource (even 0) without
    # gpu_manufacturer, and the slurm executor adds --gpus only for a positive count
    gpus = config["estimators"][wildcards.model].get("resources", {}).get("gpu", 0)
    return gpus or None


def cpus_per_task(wildcards, threads):
    # the CPUs a cluster job asks for (sbatch --cpus-per-task) follow the rule's threads
    return threads


# ---- input functions


def acquire_inputs(wildcards):
    # a local file is an input, so that editing it reruns the pipeline; if it is missing, the
    # stage itself explains the problem instead of Snakemake's generic "missing input"
    path = config["data"]["path"]
    if config["data"]["source"] == "file" and path and Path(path).is_file():
        return {"file": path}
    return {}


def gate_decision():
    with checkpoints.quality_gate.get().output.decision.open() as fh:
        return json.load(fh)


def best_model(wildcards):
    return f"results/models/{gate_decision()['model']}.joblib"


def best_model_metrics(wildcards):
    return f"results/evaluation/{gate_decision()['model']}/metrics.json"


def best_model_params(wildcards):
    return f"results/tuning/{gate_decision()['model']}/best_params.json"


def best_model_spec(wildcards):
    return config["estimators"][gate_decision()["model"]]


def predict_input(wildcards):
    from snaketrain.stage_log import StageError

    if not config["predict"]["input"]:
        raise StageError(
            "predict",
            "no file to score",
            "set predict.input in the config, e.g. --config predict='{input: new.csv}'",
            "config key predict.input",
        )
    return config["predict"]["input"]


def production_pointer(wildcards):
    # explain a missing production model here, instead of Snakemake's generic "missing input"
    from snaketrain import model_registry
    from snaketrain.stage_log import StageError

    pointer = model_registry.production_path(REGISTRY, MODEL_NAME)
    if pointer.is_file():
        return str(pointer)
    flat = Path(REGISTRY) / "production.json"
    if flat.is_file():
        return str(
            flat
        )  # a registry in the flat layout: predict moves it under its names first
    raise StageError(
        "predict",
        f"no model is in production in the registry '{REGISTRY}' for the name '{MODEL_NAME}'",
        "run the pipeline (snakemake --cores 4) until a model passes the quality gate, "
        "or point registry.path (and registry.model_name) at the registry and name of your production model",
        str(pointer),
    )


def predictions_path():
    stem = Path(config["predict"]["input"] or "input").stem
    return f"results/predictions/{stem}.parquet"


# ---- targets


def gate_outcome(wildcards):
    """The last file of the branch the gate chose: the deploy receipt, or the alert."""
    if gate_decision()["passed"]:
        return "results/deploy/receipt.json"
    return "results/alerts/alert.json"


def final_targets(wildcards):
    """Everything a full run ends with: the comparison, one branch of the gate, the report pages."""
    return [
        "results/comparison/metrics.csv",
        gate_outcome(wildcards),
        "results/report/gate.html",
    ]


# ---- report labels: read when `snakemake --report` runs, so the menu itself shows the outcome


def validation_labels(wildcards, input):
    summary = json.loads(Path(input.validation).read_text())
    failed = sum(check["verdict"] != "pass" for check in summary["checks"])
    return {
        "validation": f"{len(summary['checks'])} checks, {failed} not passed; {summary['rows']} rows"
    }


def comparison_labels(wildcards, input):
    best = json.loads(Path(input.best).read_text())
    metric = best["metric"]
    return {
        "table": f"ranking; best: {best['best_model']} ({metric} {best['metrics'][metric]})"
    }


def gate_labels(wildcards, input):
    decision = json.loads(Path(input.decision).read_text())
    if decision["passed"]:
        version = json.loads(Path(input.outcome).read_text())["version"]
        result = f"PASSED: {decision['model']} registered as {version}, in production"
    else:
        result = f"FAILED: {decision['model']} not promoted; " + "; ".join(
            decision["reasons"]
        )
    return {"decision": result}


# ---- hooks


def check_estimators():
    """Config errors in estimators surface before anything trains (imports scikit-learn, so only on real runs)."""
    from snaketrain.estimators import check_spec
    from snaketrain.stage_log import StageError

    task = config["data"]["task"]
    for name in MODELS:
        # with task auto, check against the classifier or the regressor, whichever the family has
        try:
            try:
                check_spec(
                    name,
                    config["estimators"][name],
                    "regression" if task == "regression" else "binary",
                )
            except StageError as error:
                if task != "auto" or "has no classification form" not in str(error):
                    raise
                check_spec(name, config["estimators"][name], "regression")
        except StageError as error:
            # the message names key and fix; the stack inside estimators.py would only bury it
            raise error.with_traceback(None) from None


def print_failure():
    """The last lines of a failed run: each stage's explanation, read back from this run's logs."""
    found = []
    for path in sorted(Path("logs").glob("*/*.log")):
        if path.stat().st_mtime < RUN_STARTED:
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines):
            message = line.split(" ERROR ", 1)[-1]
            if " ERROR " not in line or not (
                message.startswith("[") or "failed unexpectedly" in message
            ):
                continue
            block = [message]
            for follow in lines[number + 1 :]:
                if not follow.startswith("  ") or follow.startswith("  File "):
                    break
                block.append(follow)
            if "failed unexpectedly" in message:
                block.append(f"  (the Python traceback is in {path})")
            found.append((path, block))
            break
    if not found:
        return
    lines = ["", "snaketrain: the run stopped. What went wrong:"]
    for path, block in found:
        lines.extend(f"  {line}" for line in block)
        lines.append(f"  log: {path}")
    lines.append(
        "Steps that finished are kept and will not run again; production changes only when "
        "deploy_model finishes. Fix the problem, then run the same command again."
    )
    print("\n".join(lines))


def print_summary():
    """The last lines of a successful full run, after the HTML report is rebuilt."""
    from snaketrain.terminal_summary import on_success

    on_success(workflow, REGISTRY, MODEL_NAME)


def alert_run_failed(log):
    """A failed run reaches people: logs/alerts/run_failed.json and the webhook, if configured."""
    from snaketrain.raise_alert import notify_run_failed

    notify_run_failed(log, config["alerts"]["webhook_env"], config["alerts"]["retries"])
