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
        code=stage_code("mirror_mlflow"),
        registry=REGISTRY,
        name=MODEL_NAME,
        models=MODELS,
        estimators={model: estimator_entry(model) for model in MODELS},
        config=tracked_config(config),
    run:
        from snaketrain.stages.mirror_mlflow import run as mirror_mlflow

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
        from snaketrain.stages.sync_mlflow import run as sync_mlflow

        sync_mlflow(params.registry, params.name, mlflow_tracking(), log[0])
