rule resolve_estimator:
    input:
        validation=shared_file(rules.validate_data.output.report),
    output:
        estimator=MODEL_ESTIMATOR,
    log:
        f"logs/{SHARED_FIT}resolve_estimator/{{model}}.log",
    benchmark:
        f"benchmarks/{SHARED_FIT}resolve_estimator/{{model}}.tsv"
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
        train=shared_file(rules.build_features.output.train),
        schema=shared_file(rules.build_features.output.schema),
        estimator=rules.resolve_estimator.output.estimator,
    output:
        best_params=MODEL_PARAMS,
        cv_results=f"results/{SHARED_FIT}tuning/{{model}}/cv_results.csv",
    log:
        f"logs/{SHARED_FIT}tune_model/{{model}}.log",
    benchmark:
        f"benchmarks/{SHARED_FIT}tune_model/{{model}}.tsv"
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
        tuning=setting("tuning"),
        positive_class=setting("data", "positive_class"),
    run:
        from snaketrain.stages.tune_model import run as tune_model

        tune_model(input, output, params, log, threads)


rule train_model:
    input:
        train=shared_file(rules.build_features.output.train),
        schema=shared_file(rules.build_features.output.schema),
        best_params=rules.tune_model.output.best_params,
    output:
        model=MODEL_FILE,
    log:
        f"logs/{SHARED_FIT}train_model/{{model}}.log",
    benchmark:
        f"benchmarks/{SHARED_FIT}train_model/{{model}}.tsv"
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
        seed=setting("tuning", "seed"),
        # the decision threshold (binary) is chosen in as many folds as tuning uses
        folds=setting("tuning", "cv"),
        positive_class=setting("data", "positive_class"),
    run:
        from snaketrain.stages.train_model import run as train_model

        train_model(input, output, params, log, threads)


rule evaluate_model:
    input:
        model=rules.train_model.output.model,
        test=shared_file(rules.build_features.output.test),
        schema=shared_file(rules.build_features.output.schema),
    output:
        metrics=MODEL_METRICS,
        answers=MODEL_ANSWERS,
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
        f"logs/{SHARED_FIT}evaluate_model/{{model}}.log",
    benchmark:
        f"benchmarks/{SHARED_FIT}evaluate_model/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("evaluate_model"),
        model="{model}",
        seed=setting("tuning", "seed"),
    run:
        from snaketrain.stages.evaluate_model import run as evaluate_model

        evaluate_model(input, output, params, log, threads)
