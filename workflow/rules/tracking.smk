# ---- helpers of the MLflow rules (optional tracking)


def mlflow_tracking():
    """Where MLflow is (tracking.mlflow_uri, else MLFLOW_TRACKING_URI), or None when tracking is off.

    Handed to the mirror in its run: block, never as a param: the URI may hold a password, and params are
    recorded in .snakemake/ (the mirror names the setting, never its value).
    """
    from snaketrain.mlflow_mirror import tracking_from

    return tracking_from(config["tracking"]["mlflow_uri"], os.environ)


def tracked_config():
    """The config an MLflow run records as params: all of it but the tracking URI and what only predict reads."""
    return {
        key: value
        for key, value in config.items()
        if key not in ("tracking", "predict")
    }


# The optional MLflow mirror (tracking.mlflow_uri or MLFLOW_TRACKING_URI): in the final targets only when
# tracking is on. Our registry stays the source of truth; MLflow down never fails the run (the receipt says
# what was not mirrored, sync_mlflow brings MLflow level).
localrules:
    mirror_mlflow,
    sync_mlflow,


rule mirror_mlflow:
    input:
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
        validation=rules.validate_data.output.report,
        table=rules.compare_models.output.table,
        test=rules.split_data.output.test,
        metrics=expand(MODEL_METRICS, model=MODELS),
        plots=expand(MODEL_PLOT, model=MODELS),
        importance=expand(MODEL_IMPORTANCE, model=MODELS),
        tuned=expand(MODEL_PARAMS, model=MODELS),
    output:
        receipt="results/mlflow/receipt.json",
    log:
        "logs/mirror_mlflow/mirror_mlflow.log",
    benchmark:
        "benchmarks/mirror_mlflow/mirror_mlflow.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=stage_code("mlflow_mirror"),
        registry=REGISTRY,
        name=MODEL_NAME,
        models=MODELS,
        estimators={model: config["estimators"][model] for model in MODELS},
        config=tracked_config(),
    run:
        from snaketrain.mlflow_mirror import run as mirror_mlflow

        mirror_mlflow(input, output, params, log, threads, mlflow_tracking())


# Mirror every registry version and the production alias that MLflow lacks: snakemake --cores 1 sync_mlflow
rule sync_mlflow:
    log:
        "logs/sync_mlflow/sync_mlflow.log",
    threads: 1
    params:
        registry=REGISTRY,
        name=MODEL_NAME,
    run:
        from snaketrain.mlflow_mirror import sync_command

        sync_command(params.registry, params.name, mlflow_tracking(), log[0])
