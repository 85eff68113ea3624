rule resolve_estimator:
    input:
        validation=in_folder(out("validate_data", "report")),
    output:
        estimator=out("resolve_estimator", "estimator"),
    log:
        LAYOUT.log("resolve_estimator"),
    benchmark:
        LAYOUT.benchmark("resolve_estimator")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=stage_code("resolve_estimator"),
        model="{model}",
        spec=EXPERIMENTS.model_spec,
    run:
        from snaketrain.stages.resolve_estimator import run as resolve_estimator

        resolve_estimator(input, output, params, log, threads)


rule tune_model:
    input:
        train=in_folder(out("build_features", "train")),
        schema=in_folder(out("build_features", "schema")),
        estimator=rules.resolve_estimator.output.estimator,
    output:
        **LAYOUT.outputs("tune_model"),
    log:
        LAYOUT.log("tune_model"),
    benchmark:
        LAYOUT.benchmark("tune_model")
    retries: 2
    threads: 2
    resources:
        mem_mb=memory_mb(4000),
        runtime=120,
        cpus_per_task=cpus_per_task,
        gpu=EXPERIMENTS.model_gpus,
    params:
        code=stage_code("tune_model"),
        model="{model}",
        spec=EXPERIMENTS.model_spec,
        tuning=job_config("tuning"),
        positive_class=job_config("data", "positive_class"),
    run:
        from snaketrain.stages.tune_model import run as tune_model

        tune_model(input, output, params, log, threads)


rule train_model:
    input:
        train=in_folder(out("build_features", "train")),
        schema=in_folder(out("build_features", "schema")),
        best_params=rules.tune_model.output.best_params,
    output:
        model=out("train_model", "model"),
    log:
        LAYOUT.log("train_model"),
    benchmark:
        LAYOUT.benchmark("train_model")
    retries: 2
    threads: 2
    resources:
        mem_mb=memory_mb(4000),
        runtime=120,
        cpus_per_task=cpus_per_task,
        gpu=EXPERIMENTS.model_gpus,
    params:
        code=stage_code("train_model"),
        model="{model}",
        spec=EXPERIMENTS.model_spec,
        seed=job_config("tuning", "seed"),
        # the decision threshold (binary) is chosen on the same folds (or holdout) as tuning uses
        folds=job_config("tuning", "cv"),
        holdout_above=job_config("tuning", "holdout_above"),
        positive_class=job_config("data", "positive_class"),
    run:
        from snaketrain.stages.train_model import run as train_model

        train_model(input, output, params, log, threads)


rule evaluate_model:
    input:
        model=rules.train_model.output.model,
        test=in_folder(out("build_features", "test")),
        schema=in_folder(out("build_features", "schema")),
    output:
        metrics=out("evaluate_model", "metrics"),
        answers=out("evaluate_model", "answers"),
        plot=report(
            out("evaluate_model", "plot"),
            caption="../report/evaluation.rst",
            category="2. Models",
            subcategory="{model}",
            labels={"figure": "test diagnostics"},
        ),
        importance=report(
            out("evaluate_model", "importance"),
            caption="../report/importance.rst",
            category="2. Models",
            subcategory="{model}",
            labels={"figure": "feature importance"},
        ),
    log:
        LAYOUT.log("evaluate_model"),
    benchmark:
        LAYOUT.benchmark("evaluate_model")
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("evaluate_model"),
        model="{model}",
        seed=job_config("tuning", "seed"),
    run:
        from snaketrain.stages.evaluate_model import run as evaluate_model

        evaluate_model(input, output, params, log, threads)
