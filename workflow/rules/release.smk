# The light end of the pipeline: none of these jobs needs a cluster node of its own.
localrules:
    compare_models,
    quality_gate,
    register_model,
    deploy_model,
    raise_alert,
    summarize_run,
    compare_experiments,
    rollback_model,


rule compare_models:
    input:
        metrics=per_model(MODEL_METRICS),
    output:
        table=report(
            f"results/{EXPERIMENT}comparison/metrics.csv",
            caption="../report/comparison.rst",
            category="3. Comparison",
            subcategory=REPORT_GROUP,
            labels={"table": "all metrics as CSV (download)"},
        ),
        best=f"results/{EXPERIMENT}comparison/best.json",
    log:
        f"logs/{EXPERIMENT}compare_models/compare_models.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}compare_models/compare_models.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("compare_models"),
        metric=setting("selection", "metric"),
        models=setting("models"),
    run:
        from snaketrain.stages.compare_models import run as compare_models

        compare_models(input, output, params, log, threads)


# A checkpoint: which branch runs (register or alert) is decided from its output.
checkpoint quality_gate:
    input:
        best=rules.compare_models.output.best,
        test=shared_file(rules.split_data.output.test),
        schema=shared_file(rules.build_features.output.schema),
        # the naive rule is learnt from the training part and scored on the models' answers' test rows
        train=shared_file(rules.split_data.output.train),
        answers=per_model(MODEL_ANSWERS),
    output:
        decision=f"results/{EXPERIMENT}gate/decision.json",
    log:
        f"logs/{EXPERIMENT}quality_gate/quality_gate.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}quality_gate/quality_gate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=stage_code("quality_gate"),
        gate=setting("gate"),
        registry=REGISTRY,
        name=setting(model_name),
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
        preprocessor=shared_file(rules.build_features.output.preprocessor),
        schema=shared_file(rules.build_features.output.schema),
        validation=shared_file(rules.validate_data.output.report),
        train=shared_file(rules.split_data.output.train),
        # the fast path's conversion is checked on it, as the issue's "checked at registration" asks
        test=shared_file(rules.split_data.output.test),
    output:
        receipt=f"results/{EXPERIMENT}registry/receipt.json",
        pipeline=f"results/{EXPERIMENT}registry/pipeline.skops",
        profile=f"results/{EXPERIMENT}registry/profile.json",
    log:
        f"logs/{EXPERIMENT}register_model/register_model.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}register_model/register_model.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        code=stage_code("register_model"),
        registry=REGISTRY,
        name=setting(model_name),
        config_sections=setting(registered_config),
    run:
        from snaketrain.stages.register_model import run as register_model

        register_model(input, output, params, log, threads)


# With experiments, one deploy per registered name: it promotes the best of the name's experiments that passed.
rule deploy_model:
    input:
        unpack(deploy_inputs),
    output:
        receipt=f"results/{DEPLOY_PART}deploy/receipt.json",
    log:
        f"logs/{DEPLOY_PART}deploy_model/deploy_model.log",
    benchmark:
        f"benchmarks/{DEPLOY_PART}deploy_model/deploy_model.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # with experiments, the experiment of each decision (the best passed one is promoted)
        **({"experiments": experiments_of} if EXPERIMENTS else {}),
        code=stage_code("deploy_model"),
        registry=REGISTRY,
        name="{name}" if EXPERIMENTS else MODEL_NAME,
    run:
        from snaketrain.stages.deploy_model import run as deploy_model

        deploy_model(input, output, params, log, threads)


rule raise_alert:
    input:
        decision=rules.quality_gate.output.decision,
    output:
        alert=f"results/{EXPERIMENT}alerts/alert.json",
    log:
        f"logs/{EXPERIMENT}raise_alert/raise_alert.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}raise_alert/raise_alert.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("raise_alert"),
        webhook_env=setting("alerts", "webhook_env"),
        retries=setting("alerts", "retries"),
    run:
        from snaketrain.stages.raise_alert import run as raise_alert

        raise_alert(input, output, params, log, threads)


# The report pages: they read the registry's history and metadata (a side effect like the registry
# writes, so not declared as input) after the branch the gate chose has finished.
rule summarize_run:
    input:
        validation=shared_file(rules.validate_data.output.report),
        table=rules.compare_models.output.table,
        best=rules.compare_models.output.best,
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
    output:
        validation=report(
            f"results/{EXPERIMENT}report/validation.html",
            caption="../report/validation.rst",
            category="1. Validation",
            subcategory=REPORT_GROUP,
            labels=report_labels.validation_labels,
        ),
        comparison=report(
            f"results/{EXPERIMENT}report/comparison.html",
            caption="../report/comparison.rst",
            category="3. Comparison",
            subcategory=REPORT_GROUP,
            labels=report_labels.comparison_labels,
        ),
        gate=report(
            f"results/{EXPERIMENT}report/gate.html",
            caption="../report/gate.rst",
            category="4. Quality gate",
            subcategory=REPORT_GROUP,
            labels=report_labels.gate_labels,
        ),
        history_table=report(
            f"results/{EXPERIMENT}report/history.html",
            caption="../report/history.rst",
            category="5. Registry",
            subcategory=REPORT_GROUP,
            labels={"view": "history table and newest-vs-production diff"},
        ),
        history_plot=report(
            f"results/{EXPERIMENT}report/history.png",
            caption="../report/history.rst",
            category="5. Registry",
            subcategory=REPORT_GROUP,
            labels={"view": "selection metric across registered versions (plot)"},
        ),
    log:
        f"logs/{EXPERIMENT}summarize_run/summarize_run.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}summarize_run/summarize_run.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("summarize_run"),
        registry=REGISTRY,
        name=setting(model_name),
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
        engine=config["predict"]["engine"],
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


# With experiments: the table of experiments (also written by the onerror hook, with the failed ones' stages)
rule compare_experiments:
    input:
        unpack(experiments_results),
    output:
        csv="results/experiments.csv",
        md="results/experiments.md",
        page=report(
            "results/report/experiments.html",
            caption="../report/experiments.rst",
            category="0. Experiments",
            labels={"view": "experiments side by side"},
        ),
    log:
        "logs/compare_experiments/compare_experiments.log",
    benchmark:
        "benchmarks/compare_experiments/compare_experiments.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("compare_experiments"),
        base=tracked_config(config),
        configs=SELECTED_CONFIGS,
        sweeps={name: SWEEP_OF.get(name) for name in SELECTED},
    run:
        from snaketrain.stages.compare_experiments import run as compare_experiments

        compare_experiments(input, output, params, log, threads)
