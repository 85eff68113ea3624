rule resolve_estimator:
    input:
        validation=rules.validate_data.output.report,
    output:
        estimator=MODEL_ESTIMATOR,
    log:
        "logs/resolve_estimator/{model}.log",
    benchmark:
        "benchmarks/resolve_estimator/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=stage_code("resolve_estimator"),
        model="{model}",
        spec=model_spec,
    run:
        from snaketrain.stages.resolve_estimator import run as resolve_estimator

        resolve_estimator(input, output, params, log, threads)


rule tune_model:
    input:
        train=rules.build_features.output.train,
        schema=rules.build_features.output.schema,
        estimator=rules.resolve_estimator.output.estimator,
    output:
        best_params=MODEL_PARAMS,
        cv_results="results/tuning/{model}/cv_results.csv",
    log:
        "logs/tune_model/{model}.log",
    benchmark:
        "benchmarks/tune_model/{model}.tsv"
    retries: 2
    threads: 2
    resources:
        mem_mb=memory_mb(4000),
        runtime=120,
        cpus_per_task=cpus_per_task,
        gpu=model_gpus,
    params:
        code=stage_code("tune_model"),
        model="{model}",
        spec=model_spec,
        tuning=config["tuning"],
    run:
        from snaketrain.stages.tune_model import run as tune_model

        tune_model(input, output, params, log, threads)


rule train_model:
    input:
        train=rules.build_features.output.train,
        schema=rules.build_features.output.schema,
        best_params=rules.tune_model.output.best_params,
    output:
        model=MODEL_FILE,
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "benchmarks/train_model/{model}.tsv"
    retries: 2
    threads: 2
    resources:
        mem_mb=memory_mb(4000),
        runtime=120,
        cpus_per_task=cpus_per_task,
        gpu=model_gpus,
    params:
        code=stage_code("train_model"),
        model="{model}",
        spec=model_spec,
        seed=config["tuning"]["seed"],
    run:
        from snaketrain.stages.train_model import run as train_model

        train_model(input, output, params, log, threads)


rule evaluate_model:
    input:
        model=rules.train_model.output.model,
        test=rules.build_features.output.test,
        schema=rules.build_features.output.schema,
    output:
        metrics=MODEL_METRICS,
        plot=report(
            MODEL_PLOT,
            caption="../report/evaluation.rst",
            category="2. Models",
            subcategory="{model}",
            labels={"figure": "test diagnostics"},
        ),
        importance=report(
            MODEL_IMPORTANCE,
            caption="../report/importance.rst",
            category="2. Models",
            subcategory="{model}",
            labels={"figure": "feature importance"},
        ),
    log:
        "logs/evaluate_model/{model}.log",
    benchmark:
        "benchmarks/evaluate_model/{model}.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("evaluate_model"),
        model="{model}",
        seed=config["tuning"]["seed"],
    run:
        from snaketrain.stages.evaluate_model import run as evaluate_model

        evaluate_model(input, output, params, log, threads)
