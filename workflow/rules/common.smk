import json
import sys
from pathlib import Path

from snakemake.utils import validate

# Validate before anything is planned: a wrong key or value stops here, naming the key.
validate(config, schema="../schemas/config.schema.yaml")

# Stage modules live in scripts/; the run: blocks import them from there.
sys.path.insert(0, str(Path(workflow.basedir).parent / "scripts"))

DATASET = config["data"]["name"]
MODELS = config["models"]
REGISTRY = config["registry"]["path"]
RAW_DATA = f"resources/data/{DATASET}.parquet"

_undefined = [name for name in MODELS if name not in config["estimators"]]
if _undefined:
    raise ValueError(
        f"[config] models lists {', '.join(_undefined)}, which `estimators` does not define.\n"
        f"  fix: add them under `estimators`, or list only: {', '.join(config['estimators'])}"
    )


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
    if not config["predict"]["input"]:
        raise ValueError(
            "[predict] no file to score.\n"
            "  fix: set predict.input in the config, e.g. --config predict='{input: new.csv}'"
        )
    return config["predict"]["input"]


def registry_of_pointer(wildcards, input):
    return str(Path(input.production).parent)


def predictions_path():
    stem = Path(config["predict"]["input"] or "input").stem
    return f"results/predictions/{stem}.parquet"


# ---- targets


def final_targets(wildcards):
    """Everything a full run ends with: the comparison, then one branch of the gate."""
    outcome = (
        "results/deploy/receipt.json"
        if gate_decision()["passed"]
        else "results/alerts/alert.json"
    )
    return ["results/comparison/metrics.csv", outcome]


# ---- hooks


def check_estimators():
    """Config errors in estimators surface before anything trains (imports scikit-learn, so only on real runs)."""
    from estimators import check_spec
    from stage_log import StageError

    task = config["data"]["task"]
    for name in MODELS:
        # with task auto, check against the classifier or the regressor, whichever the family has
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


def print_summary():
    """The last lines of a successful run: where the model and its metrics are."""
    decision_path = Path("results/gate/decision.json")
    if not decision_path.is_file():
        return
    decision = json.loads(decision_path.read_text())
    best = json.loads(Path("results/comparison/best.json").read_text())
    lines = ["", "snaketrain summary"]
    lines.append(
        f"  best model:   {decision['model']} ({best['metric']} = {decision['value']})"
    )
    lines.append(
        f"  metrics:      results/evaluation/{decision['model']}/metrics.json, table results/comparison/metrics.csv"
    )
    deploy = Path("results/deploy/receipt.json")
    if decision["passed"] and deploy.is_file():
        version = json.loads(deploy.read_text())["version"]
        lines.append("  quality gate: PASSED")
        lines.append(
            f"  model:        {REGISTRY}/versions/{version}/model.joblib (production)"
        )
    else:
        lines.append(
            "  quality gate: FAILED - the model was NOT promoted; production is unchanged"
        )
        for reason in decision["reasons"]:
            lines.append(f"    - {reason}")
        lines.append("  alert:        results/alerts/alert.json")
    print("\n".join(lines))
