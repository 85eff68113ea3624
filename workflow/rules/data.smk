rule acquire_data:
    input:
        unpack(EXPERIMENTS.acquire_inputs),
    output:
        data=out("acquire_data", "data"),
    log:
        LAYOUT.log("acquire_data"),
    benchmark:
        LAYOUT.benchmark("acquire_data")
    retries: 1
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("acquire_data"),
        source=job_config(exps.acquire_settings),
    run:
        from snaketrain.stages.acquire_data import run as acquire_data

        acquire_data(input, output, params, log, threads)


rule validate_data:
    input:
        data=in_folder(out("acquire_data", "data")),
    output:
        report=out("validate_data", "report"),
    log:
        LAYOUT.log("validate_data"),
    benchmark:
        LAYOUT.benchmark("validate_data")
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("validate_data"),
        target=job_config("data", "target"),
        task=job_config("data", "task"),
        rules=job_config("validation"),
        drop=job_config("features", "drop"),
        kinds=job_config(exps.column_overrides),
    run:
        from snaketrain.stages.validate_data import run as validate_data

        validate_data(input, output, params, log, threads)


rule split_data:
    input:
        data=in_folder(out("acquire_data", "data")),
        report=in_folder(out("validate_data", "report")),
    output:
        **LAYOUT.outputs("split_data"),
    log:
        LAYOUT.log("split_data"),
    benchmark:
        LAYOUT.benchmark("split_data")
    threads: 1
    resources:
        mem_mb=memory_mb(2000),
        runtime=30,
    params:
        code=stage_code("split_data"),
        split=job_config("split"),
    run:
        from snaketrain.stages.split_data import run as split_data

        split_data(input, output, params, log, threads)
