rule tune_model:
    input:
        train=rules.build_features.output.train,
        schema=rules.build_features.output.schema,
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
