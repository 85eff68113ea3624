rule build_features:
    input:
        train=rules.split_data.output.train,
        test=rules.split_data.output.test,
        report=shared_file(rules.validate_data.output.report),
    output:
        preprocessor=f"results/{SHARED_FEATURES}features/preprocessor.joblib",
        train=f"results/{SHARED_FEATURES}features/train.parquet",
        test=f"results/{SHARED_FEATURES}features/test.parquet",
        schema=f"results/{SHARED_FEATURES}features/schema.json",
    log:
        f"logs/{SHARED_FEATURES}build_features/build_features.log",
    benchmark:
        f"benchmarks/{SHARED_FEATURES}build_features/build_features.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(3000),
        runtime=30,
    params:
        code=stage_code("build_features"),
        features=setting("features"),
        dtypes=setting("validation", "dtypes"),
        seed=setting("split", "seed"),
        # the content of features.custom's file: editing it reruns features onwards
        custom_code=setting(custom_code),
    run:
        from snaketrain.stages.build_features import run as build_features

        build_features(input, output, params, log, threads)
