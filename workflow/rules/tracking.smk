# The optional MLflow mirror (tracking.mlflow_uri or MLFLOW_TRACKING_URI): in the final targets only when
# tracking is on. Our registry stays the source of truth; MLflow down never fails the run (the receipt says
# what was not mirrored, sync_mlflow brings MLflow level).
localrules:
    mirror_mlflow,
    sync_mlflow,


rule mirror_mlflow:
    input:
        decision="results/gate/decision.json",
        outcome=gate_outcome,
        validation="results/validation/report.json",
        table="results/comparison/metrics.csv",
        test="results/split/test.parquet",
        metrics=expand("results/evaluation/{model}/metrics.json", model=MODELS),
        plots=expand("results/evaluation/{model}/plot.png", model=MODELS),
        importance=expand("results/evaluation/{model}/importance.png", model=MODELS),
        tuned=expand("results/tuning/{model}/best_params.json", model=MODELS),
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
