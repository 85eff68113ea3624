rule build_features:
    input:
        train=rules.split_data.output.train,
        test=rules.split_data.output.test,
        report=rules.validate_data.output.report,
    output:
        preprocessor="results/features/preprocessor.joblib",
        train="results/features/train.parquet",
        test="results/features/test.parquet",
        schema="results/features/schema.json",
    log:
        "logs/build_features/build_features.log",
    benchmark:
        "benchmarks/build_features/build_features.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(3000),
        runtime=30,
    params:
        code=stage_code("build_features"),
        features=config["features"],
        dtypes=config["validation"]["dtypes"],
        seed=config["split"]["seed"],
        # the content of features.custom's file: editing it reruns features onwards
        custom_code=custom_code(),
    run:
        from snaketrain.stages.build_features import run as build_features

        build_features(input, output, params, log, threads)
