rule acquire_data:
    input:
        unpack(acquire_inputs),
    output:
        data=f"resources/data/{DATASET}.parquet",
    log:
        "logs/acquire_data/acquire_data.log",
    benchmark:
        "benchmarks/acquire_data/acquire_data.tsv"
    retries: 1
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("acquire_data"),
        source=acquire_settings(),
    run:
        from snaketrain.stages.acquire_data import run as acquire_data

        acquire_data(input, output, params, log, threads)


rule validate_data:
    input:
        data=rules.acquire_data.output.data,
    output:
        report="results/validation/report.json",
    log:
        "logs/validate_data/validate_data.log",
    benchmark:
        "benchmarks/validate_data/validate_data.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("validate_data"),
        target=config["data"]["target"],
        task=config["data"]["task"],
        rules=config["validation"],
        drop=config["features"]["drop"],
        kinds=column_overrides(),
    run:
        from snaketrain.stages.validate_data import run as validate_data

        validate_data(input, output, params, log, threads)


rule split_data:
    input:
        data=rules.acquire_data.output.data,
        report=rules.validate_data.output.report,
    output:
        train="results/split/train.parquet",
        test="results/split/test.parquet",
    log:
        "logs/split_data/split_data.log",
    benchmark:
        "benchmarks/split_data/split_data.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("split_data"),
        split=config["split"],
    run:
        from snaketrain.stages.split_data import run as split_data

        split_data(input, output, params, log, threads)
