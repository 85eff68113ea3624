# The optional MLflow mirror (tracking.mlflow_uri or MLFLOW_TRACKING_URI): in the final targets only when
# tracking is on. Our registry stays the source of truth; MLflow down never fails the run (the receipt says
# what was not mirrored, sync_mlflow brings MLflow level).
localrules:
    mirror_mlflow,
    sync_mlflow,


rule mirror_mlflow:
    input:
        # with experiments, the deploy of the experiment's name: the production alias is set after it
        **({"deployed": EXPERIMENTS.name_deploy} if EXPERIMENTS else {}),
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
        validation=in_folder(out("validate_data", "report")),
        table=rules.compare_models.output.table,
        test=in_folder(out("split_data", "test")),
        metrics=per_model(out("evaluate_model", "metrics")),
        plots=per_model(out("evaluate_model", "plot")),
        importance=per_model(out("evaluate_model", "importance")),
        tuned=per_model(out("tune_model", "best_params")),
    output:
        receipt=out("mirror_mlflow", "receipt"),
    log:
        LAYOUT.log("mirror_mlflow"),
    benchmark:
        LAYOUT.benchmark("mirror_mlflow")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # with experiments, the MLflow run is named after the experiment, tagged with the sweep that made it
        **(
            {"experiment": "{experiment}", "sweep": EXPERIMENTS.sweep}
            if EXPERIMENTS
            else {}
        ),
        code=stage_code("mirror_mlflow"),
        registry=REGISTRY,
        name=job_config(registered_name),
        models=job_config("models"),
        estimators=job_config(exps.estimator_entries),
        config=job_config(tracked_config),
    run:
        from snaketrain.stages.mirror_mlflow import run as mirror_mlflow

        mirror_mlflow(input, output, params, log, threads, mlflow_tracking())


# Mirror every registry version and the production alias that MLflow lacks: snakemake --cores 1 sync_mlflow
rule sync_mlflow:
    log:
        LAYOUT.log("sync_mlflow"),
    threads: 1
    params:
        registry=REGISTRY,
        name=MODEL_NAME,
    run:
        from snaketrain.stages.sync_mlflow import run as sync_mlflow

        sync_mlflow(params.registry, params.name, mlflow_tracking(), log[0])
