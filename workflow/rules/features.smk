rule build_features:
    input:
        train="results/split/train.parquet",
        test="results/split/test.parquet",
        report="results/validation/report.json",
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
    run:
        from snaketrain.build_features import run as build_features

        build_features(input, output, params, log, threads)
