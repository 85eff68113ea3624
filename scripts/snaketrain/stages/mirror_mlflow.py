"""The mirror_mlflow rule: this run, its registered version and the production alias, mirrored to MLflow.

MLflow only mirrors our registry: no MLflow problem fails the run; the receipt says what was not mirrored.
The MLflow mechanics (client, versions, alias, model directory) are in snaketrain.tracking.mlflow_mirror.
"""

from pathlib import Path

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, write_json
from snaketrain.tracking.mlflow_mirror import (
    ALIAS,
    CONFIG_KEY,
    ENV_KEY,
    SYNC_COMMAND,
    client_for,
    experiment_id,
    finite_metrics,
    flat_params,
    log_batch,
    redact,
    run_tags,
    sync,
    write_mlflow_model,
)

STAGE = "mirror_mlflow"


def log_pipeline_run(client, experiment, record):
    """The MLflow run of one pipeline run with a nested run per model; returns the parent's run id."""
    parent = client.create_run(experiment, tags={"mlflow.runName": record["run_name"], **record["tags"]}).info.run_id
    log_batch(client, parent, params=record["params"], metrics=record["metrics"])
    for path, folder in record["artifacts"]:
        client.log_artifact(parent, str(path), folder)
    for model in record["models"]:
        child = client.create_run(
            experiment,
            tags={"mlflow.runName": model["name"], "mlflow.parentRunId": parent, "snaketrain.model": model["name"]},
        ).info.run_id
        log_batch(client, child, params=model["params"], metrics=model["metrics"])
        for path in model["plots"]:
            client.log_artifact(child, str(path), "plots")
        client.set_terminated(child)
    return parent


def pipeline_record(input, params, version_metadata):
    """Everything the MLflow run of this pipeline run holds, read from the job's declared inputs."""
    decision = read_json(input.decision)
    validation = read_json(input.validation)
    models = []
    for model, metrics_path, tuned_path in zip(params.models, input.metrics, input.tuned, strict=True):
        evaluation, tuned = read_json(metrics_path), read_json(tuned_path)
        plots = [p for p in (*input.plots, *input.importance) if Path(p).parent.name == model]
        models.append(
            {
                "name": model,
                "params": flat_params({"estimator": params.estimators[model], "best_params": tuned["best_params"]}),
                "metrics": finite_metrics(evaluation["metrics"]),
                "plots": plots,
            }
        )
    best = next(m for m in models if m["name"] == decision["model"])
    artifacts = [(input.validation, "validation"), (input.table, "comparison"), (input.decision, "gate")]
    experiment = getattr(params, "experiment", None)  # set only when the run has experiments
    outcome = "passed" if decision["passed"] else "failed"
    tags = run_tags(validation, version_metadata, decision, params.name)
    if experiment:
        tags.update({"snaketrain.experiment": experiment, "snaketrain.sweep": getattr(params, "sweep", None) or ""})
    return {
        "run_name": experiment or f"{params.name} {decision['model']} ({outcome})",
        "params": flat_params(params.config),
        "metrics": best["metrics"],
        "tags": tags,
        "artifacts": artifacts,
        "models": models,
    }


def not_mirrored_text(receipt, cause_max=300):
    """The warning for the log and the end-of-run summary: what MLflow lacks, why, and how to bring it level."""
    cause = receipt["error"] if len(receipt["error"]) <= cause_max else receipt["error"][:cause_max] + " ..."
    return "\n".join(
        [
            f"NOT mirrored to MLflow ({receipt['setting']}): {', '.join(receipt['not_mirrored'])}",
            f"  cause: {cause}",
            f"  re-sync: {SYNC_COMMAND} (every registry version and the production alias MLflow lacks),",
            "  or snakemake --cores 1 --forcerun mirror_mlflow (this run too)",
        ]
    )


def run(input, output, params, log, threads=1, tracking=None):
    """The mirror_mlflow rule: the local MLflow model directory, then the run, the version and the alias."""
    import pandas as pd

    with stage_logging(log[0], STAGE) as logger:
        if tracking is None:
            raise StageError(
                STAGE,
                "MLflow tracking is off, so there is nothing to mirror to",
                f"set {CONFIG_KEY} in the config or the {ENV_KEY} environment variable",
                CONFIG_KEY,
            )
        decision = read_json(input.decision)
        root, name = params.registry, params.name
        version = read_json(input.outcome)["version"] if decision["passed"] else None
        meta = registry.metadata(root, version, name) if version else None
        rows = pd.read_parquet(input.test) if version else None
        receipt = {"setting": tracking.setting, "registered_model": name, "registry_version": version}
        if version:
            receipt["model_dir"] = str(write_mlflow_model(root, version, name, rows))
        stage = "connecting"
        try:
            client = client_for(tracking)
            experiment = experiment_id(client, name)
            stage = "logging the run"
            record = pipeline_record(input, params, meta)
            run_id = log_pipeline_run(client, experiment, record)
            receipt.update(run_id=run_id, experiment_id=experiment)
            client.set_terminated(run_id)
            stage = "registering the version"
            synced = sync(client, root, name, logger, rows, owner=(version, run_id))
            receipt.update(
                mirrored=True,
                model_version=synced["numbers"].get(version) if version else None,
                production=synced["alias"],
            )
            logger.info("MLflow (%s): run %s in experiment %s", tracking.setting, run_id, name)
        except Exception as error:  # noqa: BLE001 - MLflow only mirrors: no MLflow problem may fail the run
            missing = {
                "connecting": ["this run (params, metrics, plots)", "registry versions", f"alias {ALIAS}"],
                "logging the run": ["this run (params, metrics, plots)", "registry versions", f"alias {ALIAS}"],
                "registering the version": ["registry versions", f"alias {ALIAS}"],
            }[stage]
            if version:
                missing[missing.index("registry versions")] = f"registry version {version}"
            receipt.update(
                mirrored=False,
                not_mirrored=missing,
                error=f"{stage}: {type(error).__name__}: {redact(error, tracking)}"[:2000],
            )
            receipt["warning"] = not_mirrored_text(receipt)
            logger.warning("%s", receipt["warning"])
        receipt["mirrored_at"] = registry.now_utc()
        write_json(receipt, output.receipt)
