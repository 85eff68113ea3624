rule acquire_data:
    input:
        unpack(acquire_inputs),
    output:
        data=DATA_FILE,
    log:
        f"logs/{SHARED_DATASET}acquire_data/acquire_data.log",
    benchmark:
        f"benchmarks/{SHARED_DATASET}acquire_data/acquire_data.tsv"
    retries: 1
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("acquire_data"),
        source=setting(acquire_settings),
    run:
        from snaketrain.stages.acquire_data import run as acquire_data

        acquire_data(input, output, params, log, threads)


rule validate_data:
    input:
        data=shared_file(DATA_FILE),
    output:
        report=f"results/{SHARED_DATA}validation/report.json",
    log:
        f"logs/{SHARED_DATA}validate_data/validate_data.log",
    benchmark:
        f"benchmarks/{SHARED_DATA}validate_data/validate_data.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("validate_data"),
        target=setting("data", "target"),
        task=setting("data", "task"),
        rules=setting("validation"),
        drop=setting("features", "drop"),
        kinds=setting(column_overrides),
    run:
        from snaketrain.stages.validate_data import run as validate_data

        validate_data(input, output, params, log, threads)


rule split_data:
    input:
        data=shared_file(DATA_FILE),
        report=shared_file(rules.validate_data.output.report),
    output:
        train=f"results/{SHARED_FEATURES}split/train.parquet",
        test=f"results/{SHARED_FEATURES}split/test.parquet",
    log:
        f"logs/{SHARED_FEATURES}split_data/split_data.log",
    benchmark:
        f"benchmarks/{SHARED_FEATURES}split_data/split_data.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("split_data"),
        split=setting("split"),
    run:
        from snaketrain.stages.split_data import run as split_data

        split_data(input, output, params, log, threads)
