# The light end of the pipeline: none of these jobs needs a cluster node of its own.
localrules:
    compare_models,
    quality_gate,
    register_model,
    deploy_model,
    raise_alert,
    summarize_run,
    rollback_model,


rule compare_models:
    input:
        metrics=expand(MODEL_METRICS, model=MODELS),
    output:
        table=report(
            "results/comparison/metrics.csv",
            caption="../report/comparison.rst",
            category="3. Comparison",
            labels={"table": "all metrics as CSV (download)"},
        ),
        best="results/comparison/best.json",
    log:
        "logs/compare_models/compare_models.log",
    benchmark:
        "benchmarks/compare_models/compare_models.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("compare_models"),
        metric=config["selection"]["metric"],
        models=MODELS,
    run:
        from snaketrain.stages.compare_models import run as compare_models

        compare_models(input, output, params, log, threads)


# A checkpoint: which branch runs (register or alert) is decided from its output.
checkpoint quality_gate:
    input:
        best=rules.compare_models.output.best,
        test=rules.split_data.output.test,
        schema=rules.build_features.output.schema,
    output:
        decision="results/gate/decision.json",
    log:
        "logs/quality_gate/quality_gate.log",
    benchmark:
        "benchmarks/quality_gate/quality_gate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=stage_code("quality_gate"),
        gate=config["gate"],
        registry=REGISTRY,
        name=MODEL_NAME,
    run:
        from snaketrain.stages.quality_gate import run as quality_gate

        quality_gate(input, output, params, log, threads)


rule register_model:
    input:
        decision=rules.quality_gate.output.decision,
        model=best_model_file(MODEL_FILE),
        metrics=best_model_file(MODEL_METRICS),
        best_params=best_model_file(MODEL_PARAMS),
        estimator=best_model_file(MODEL_ESTIMATOR),
        preprocessor=rules.build_features.output.preprocessor,
        schema=rules.build_features.output.schema,
        validation=rules.validate_data.output.report,
        train=rules.split_data.output.train,
    output:
        receipt="results/registry/receipt.json",
        pipeline="results/registry/pipeline.skops",
        profile="results/registry/profile.json",
    log:
        "logs/register_model/register_model.log",
    benchmark:
        "benchmarks/register_model/register_model.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        code=stage_code("register_model"),
        registry=REGISTRY,
        name=MODEL_NAME,
        config_sections=registered_config(),
    run:
        from snaketrain.stages.register_model import run as register_model

        register_model(input, output, params, log, threads)


rule deploy_model:
    input:
        receipt=rules.register_model.output.receipt,
    output:
        receipt="results/deploy/receipt.json",
    log:
        "logs/deploy_model/deploy_model.log",
    benchmark:
        "benchmarks/deploy_model/deploy_model.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("deploy_model"),
        registry=REGISTRY,
        name=MODEL_NAME,
    run:
        from snaketrain.stages.deploy_model import run as deploy_model

        deploy_model(input, output, params, log, threads)


rule raise_alert:
    input:
        decision=rules.quality_gate.output.decision,
    output:
        alert="results/alerts/alert.json",
    log:
        "logs/raise_alert/raise_alert.log",
    benchmark:
        "benchmarks/raise_alert/raise_alert.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("raise_alert"),
        webhook_env=config["alerts"]["webhook_env"],
        retries=config["alerts"]["retries"],
    run:
        from snaketrain.stages.raise_alert import run as raise_alert

        raise_alert(input, output, params, log, threads)


# The report pages: they read the registry's history and metadata (a side effect like the registry
# writes, so not declared as input) after the branch the gate chose has finished.
rule summarize_run:
    input:
        validation=rules.validate_data.output.report,
        table=rules.compare_models.output.table,
        best=rules.compare_models.output.best,
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
    output:
        validation=report(
            "results/report/validation.html",
            caption="../report/validation.rst",
            category="1. Validation",
            labels=report_labels.validation_labels,
        ),
        comparison=report(
            "results/report/comparison.html",
            caption="../report/comparison.rst",
            category="3. Comparison",
            labels=report_labels.comparison_labels,
        ),
        gate=report(
            "results/report/gate.html",
            caption="../report/gate.rst",
            category="4. Quality gate",
            labels=report_labels.gate_labels,
        ),
        history_table=report(
            "results/report/history.html",
            caption="../report/history.rst",
            category="5. Registry",
            labels={"view": "history table and newest-vs-production diff"},
        ),
        history_plot=report(
            "results/report/history.png",
            caption="../report/history.rst",
            category="5. Registry",
            labels={"view": "selection metric across registered versions (plot)"},
        ),
    log:
        "logs/summarize_run/summarize_run.log",
    benchmark:
        "benchmarks/summarize_run/summarize_run.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("summarize_run"),
        registry=REGISTRY,
        name=MODEL_NAME,
    run:
        from snaketrain.stages.summarize_run import run as summarize_run

        summarize_run(input, output, params, log, threads)


# Batch scoring with the production model; not part of `all`: snakemake --cores 4 predict
rule predict:
    input:
        data=predict_input,
        production=production_pointer,
    output:
        predictions=predictions_path(),
    log:
        "logs/predict/predict.log",
    benchmark:
        "benchmarks/predict/predict.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("predict"),
        registry=REGISTRY,
        name=MODEL_NAME,
        delimiter=config["data"]["delimiter"],
        encoding=config["data"]["encoding"],
    run:
        from snaketrain.stages.predict import run as predict

        predict(input, output, params, log, threads)


# Point production of registry.model_name back to the version before it (or to rollback.to); not part of
# `all`. A rollback is an action, so asking for it again does it again: the request time is a param, and
# a changed param reruns the rule. snakemake --cores 1 rollback_model [--config rollback='{to: <version>}']
rule rollback_model:
    output:
        receipt="results/rollback/receipt.json",
    log:
        "logs/rollback_model/rollback_model.log",
    benchmark:
        "benchmarks/rollback_model/rollback_model.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("rollback_model"),
        registry=REGISTRY,
        name=MODEL_NAME,
        to=config["rollback"]["to"],
        requested=RUN_STARTED,
    run:
        from snaketrain.stages.rollback_model import run as rollback_model

        rollback_model(input, output, params, log, threads, mlflow_tracking())
