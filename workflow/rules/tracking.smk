# The optional MLflow mirror (tracking.mlflow_uri or MLFLOW_TRACKING_URI): in the final targets only when
# tracking is on. Our registry stays the source of truth; MLflow down never fails the run (the receipt says
# what was not mirrored, sync_mlflow brings MLflow level).
localrules:
    mirror_mlflow,
    sync_mlflow,


rule mirror_mlflow:
    input:
        # with experiments, the deploy of the experiment's name: the production alias is set after it
        **experiment_deploy(),
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
        validation=shared_file(rules.validate_data.output.report),
        table=rules.compare_models.output.table,
        test=shared_file(rules.split_data.output.test),
        metrics=per_model(MODEL_METRICS),
        plots=per_model(MODEL_PLOT),
        importance=per_model(MODEL_IMPORTANCE),
        tuned=per_model(MODEL_PARAMS),
    output:
        receipt=f"results/{EXPERIMENT}mlflow/receipt.json",
    log:
        f"logs/{EXPERIMENT}mirror_mlflow/mirror_mlflow.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}mirror_mlflow/mirror_mlflow.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # with experiments, the MLflow run is named after the experiment, tagged with the sweep that made it
        **experiment_params(),
        code=stage_code("mirror_mlflow"),
        registry=REGISTRY,
        name=setting(model_name),
        models=setting("models"),
        estimators=setting(estimator_entries),
        config=setting(tracked_config),
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
