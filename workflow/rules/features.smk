rule build_features:
    input:
        train=rules.split_data.output.train,
        test=rules.split_data.output.test,
        report=in_folder(out("validate_data", "report")),
    output:
        **LAYOUT.outputs("build_features"),
    log:
        LAYOUT.log("build_features"),
    benchmark:
        LAYOUT.benchmark("build_features")
    threads: 1
    resources:
        mem_mb=memory_mb(3000),
        runtime=30,
    params:
        code=stage_code("build_features"),
        features=job_config("features"),
        dtypes=job_config("validation", "dtypes"),
        seed=job_config("split", "seed"),
        # the content of features.custom's file: editing it reruns features onwards
        custom_code=job_config(exps.custom_code),
    run:
        from snaketrain.stages.build_features import run as build_features

        build_features(input, output, params, log, threads)
