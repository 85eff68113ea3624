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
        metrics=per_model(out("evaluate_model", "metrics")),
    output:
        table=report(
            out("compare_models", "table"),
            caption="../report/comparison.rst",
            category="3. Comparison",
            subcategory=REPORT_GROUP,
            labels={"table": "all metrics as CSV (download)"},
        ),
        best=out("compare_models", "best"),
    log:
        LAYOUT.log("compare_models"),
    benchmark:
        LAYOUT.benchmark("compare_models")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("compare_models"),
        metric=job_config("selection", "metric"),
        models=job_config("models"),
    run:
        from snaketrain.stages.compare_models import run as compare_models

        compare_models(input, output, params, log, threads)


# A checkpoint: which branch runs (register or alert) is decided from its output.
checkpoint quality_gate:
    input:
        best=rules.compare_models.output.best,
        test=in_folder(out("split_data", "test")),
        schema=in_folder(out("build_features", "schema")),
        # the naive rule is learnt from the training part and scored on the models' answers' test rows
        train=in_folder(out("split_data", "train")),
        answers=per_model(out("evaluate_model", "answers")),
    output:
        decision=out("quality_gate", "decision"),
    log:
        LAYOUT.log("quality_gate"),
    benchmark:
        LAYOUT.benchmark("quality_gate")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=stage_code("quality_gate"),
        gate=job_config("gate"),
        registry=REGISTRY,
        name=job_config(registered_name),
    run:
        from snaketrain.stages.quality_gate import run as quality_gate

        quality_gate(input, output, params, log, threads)


rule register_model:
    input:
        decision=rules.quality_gate.output.decision,
        model=best_model_file(out("train_model", "model")),
        metrics=best_model_file(out("evaluate_model", "metrics")),
        best_params=best_model_file(out("tune_model", "best_params")),
        estimator=best_model_file(out("resolve_estimator", "estimator")),
        preprocessor=in_folder(out("build_features", "preprocessor")),
        schema=in_folder(out("build_features", "schema")),
        validation=in_folder(out("validate_data", "report")),
        train=in_folder(out("split_data", "train")),
        # the fast path's conversion is checked on it at registration
        test=in_folder(out("split_data", "test")),
    output:
        **LAYOUT.outputs("register_model"),
    log:
        LAYOUT.log("register_model"),
    benchmark:
        LAYOUT.benchmark("register_model")
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        code=stage_code("register_model"),
        registry=REGISTRY,
        name=job_config(registered_name),
        config_sections=job_config(exps.registered_sections),
    run:
        from snaketrain.stages.register_model import run as register_model

        register_model(input, output, params, log, threads)


# With experiments, one deploy per registered name: it promotes the best of the name's experiments that passed.
rule deploy_model:
    input:
        unpack(deploy_inputs),
    output:
        receipt=out("deploy_model", "receipt"),
    log:
        LAYOUT.log("deploy_model"),
    benchmark:
        LAYOUT.benchmark("deploy_model")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # with experiments, the experiment of each decision (the best passed one is promoted)
        **({"experiments": EXPERIMENTS.deploy_experiments} if EXPERIMENTS else {}),
        code=stage_code("deploy_model"),
        registry=REGISTRY,
        name=EXPERIMENTS.deploy_name,
    run:
        from snaketrain.stages.deploy_model import run as deploy_model

        deploy_model(input, output, params, log, threads)


rule raise_alert:
    input:
        decision=rules.quality_gate.output.decision,
    output:
        alert=out("raise_alert", "alert"),
    log:
        LAYOUT.log("raise_alert"),
    benchmark:
        LAYOUT.benchmark("raise_alert")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("raise_alert"),
        webhook_env=job_config("alerts", "webhook_env"),
        retries=job_config("alerts", "retries"),
    run:
        from snaketrain.stages.raise_alert import run as raise_alert

        raise_alert(input, output, params, log, threads)


# The report pages: they read the registry's history and metadata (a side effect like the registry
# writes, so not declared as input) after the branch the gate chose has finished.
rule summarize_run:
    input:
        validation=in_folder(out("validate_data", "report")),
        schema=in_folder(out("build_features", "schema")),
        table=rules.compare_models.output.table,
        best=rules.compare_models.output.best,
        decision=rules.quality_gate.output.decision,
        outcome=gate_outcome,
    output:
        validation=report(
            out("summarize_run", "validation"),
            caption="../report/validation.rst",
            category="1. Validation",
            subcategory=REPORT_GROUP,
            labels=report_labels.validation_labels,
        ),
        comparison=report(
            out("summarize_run", "comparison"),
            caption="../report/comparison.rst",
            category="3. Comparison",
            subcategory=REPORT_GROUP,
            labels=report_labels.comparison_labels,
        ),
        gate=report(
            out("summarize_run", "gate"),
            caption="../report/gate.rst",
            category="4. Quality gate",
            subcategory=REPORT_GROUP,
            labels=report_labels.gate_labels,
        ),
        history_table=report(
            out("summarize_run", "history_table"),
            caption="../report/history.rst",
            category="5. Registry",
            subcategory=REPORT_GROUP,
            labels={"view": "history table and newest-vs-production diff"},
        ),
        history_plot=report(
            out("summarize_run", "history_plot"),
            caption="../report/history.rst",
            category="5. Registry",
            subcategory=REPORT_GROUP,
            labels={"view": "selection metric across registered versions (plot)"},
        ),
    log:
        LAYOUT.log("summarize_run"),
    benchmark:
        LAYOUT.benchmark("summarize_run")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("summarize_run"),
        registry=REGISTRY,
        name=job_config(registered_name),
    run:
        from snaketrain.stages.summarize_run import run as summarize_run

        summarize_run(input, output, params, log, threads)


# Batch scoring with the production model; not part of `all`: snakemake --cores 4 predict
rule predict:
    input:
        data=predict_input,
        production=production_pointer,
    output:
        predictions=out("predict", "predictions").format(
            stem=Path(config["predict"]["input"] or "input").stem
        ),
    log:
        LAYOUT.log("predict"),
    benchmark:
        LAYOUT.benchmark("predict")
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("predict"),
        registry=REGISTRY,
        name=MODEL_NAME,
        delimiter=base_config("data", "delimiter"),
        encoding=base_config("data", "encoding"),
        engine=base_config("predict", "engine"),
    run:
        from snaketrain.stages.predict import run as predict

        predict(input, output, params, log, threads)


# Point production of registry.model_name back to the version before it (or to rollback.to); not part of
# `all`. A rollback is an action, so asking for it again does it again: the request time is a param, and
# a changed param reruns the rule. snakemake --cores 1 rollback_model [--config rollback='{to: <version>}']
rule rollback_model:
    output:
        receipt=out("rollback_model", "receipt"),
    log:
        LAYOUT.log("rollback_model"),
    benchmark:
        LAYOUT.benchmark("rollback_model")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=stage_code("rollback_model"),
        registry=REGISTRY,
        name=MODEL_NAME,
        to=base_config("rollback", "to"),
        requested=RUN_STARTED,
    run:
        from snaketrain.stages.rollback_model import run as rollback_model

        rollback_model(input, output, params, log, threads, mlflow_tracking())


# With experiments: the table of experiments (after a failed run the onerror hook prints it, with the failed ones'
# stages, and writes nothing)
rule compare_experiments:
    input:
        unpack(experiments_results),
    output:
        csv=out("compare_experiments", "csv"),
        md=out("compare_experiments", "md"),
        page=report(
            out("compare_experiments", "page"),
            caption="../report/experiments.rst",
            category="0. Experiments",
            labels={"view": "experiments side by side"},
        ),
    log:
        LAYOUT.log("compare_experiments"),
    benchmark:
        LAYOUT.benchmark("compare_experiments")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # one short line per experiment (what it sets) and the base config's digest: a dry run's reason names what
        # changed; the configs themselves are passed by the run block (experiments_compared)
        *experiments_params(),
        code=stage_code("compare_experiments"),
    run:
        from snaketrain.stages.compare_experiments import run as compare_experiments

        compare_experiments(
            input, output, params, log, threads, experiments_compared()
        )
