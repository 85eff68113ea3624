# Drift of current data against the production version's reference profile (snaketrain.monitoring), and the
# decision it feeds with monitoring.retrain: on_drift (the rest of `all` runs only when a retrain is due).
RETRAIN = config["monitoring"]["retrain"]


def drift_inputs(wildcards):
    """The current data when it is a local file or this run's data; the production pointer when there is one
    (a promotion reruns the check); the training part only for a version registered before profiles.
    """
    inputs = {}
    current = config["monitoring"]["current"]
    if current is None:
        inputs["current"] = base_file(DATA_FILE)
    elif not current.startswith(("http://", "https://")) and Path(current).is_file():
        inputs["current"] = current
    pointer = Path(REGISTRY) / "models" / MODEL_NAME / "production.json"
    if pointer.is_file():
        inputs["production"] = str(pointer)
        version = json.loads(pointer.read_text())["version"]
        meta = (
            Path(REGISTRY)
            / "models"
            / MODEL_NAME
            / "versions"
            / version
            / "metadata.json"
        )
        if meta.is_file() and "profile.json" not in json.loads(meta.read_text()).get(
            "files", {}
        ):
            inputs["train"] = base_file(rules.split_data.output.train)
            inputs["validation"] = base_file(rules.validate_data.output.report)
    elif RETRAIN not in ("on_drift",):
        existing_production_path(
            REGISTRY, MODEL_NAME
        )  # explains that nothing is in production
    return inputs


def drift_targets():
    """What the check adds to `all`: nothing unless monitoring.retrain is on_drift or never."""
    if RETRAIN == "always":
        return []
    return [rules.check_drift.output.drift, rules.check_drift.output.page]


def retrain_after_check():
    """Whether `all` goes on past the drift check: always for retrain: always (no check), never for never,
    and for on_drift what the check decided (a checkpoint, so -n shows it once the check has run).
    """
    if RETRAIN == "always":
        return True
    if RETRAIN == "never":
        return False
    decision = json.loads(Path(checkpoints.check_drift.get().output.drift).read_text())
    return decision["decision"]["retrain"]


# A checkpoint: with monitoring.retrain on_drift, whether anything is tuned, trained and registered after it is
# decided from its output. On its own: snakemake --cores 1 check_drift
checkpoint check_drift:
    input:
        unpack(drift_inputs),
    output:
        drift="results/monitoring/drift.json",
        page=report(
            "results/report/drift.html",
            caption="../report/drift.rst",
            category="6. Monitoring",
            labels={"view": "data drift against production"},
        ),
    log:
        "logs/check_drift/check_drift.log",
    benchmark:
        "benchmarks/check_drift/check_drift.tsv"
    threads: 1
    resources:
        mem_mb=memory_mb(4000),
        runtime=30,
    params:
        code=stage_code("check_drift"),
        registry=REGISTRY,
        name=MODEL_NAME,
        monitoring=config["monitoring"],
        split=config["split"],
        delimiter=config["data"]["delimiter"],
        encoding=config["data"]["encoding"],
        attempts=config["data"]["download_retries"],
        webhook_env=config["alerts"]["webhook_env"],
        retries=config["alerts"]["retries"],
        # a URL's content changes without Snakemake seeing it: each run that asks for the check reads it again
        requested=(
            RUN_STARTED
            if str(config["monitoring"]["current"]).startswith(("http://", "https://"))
            else None
        ),
    run:
        from snaketrain.stages.check_drift import run as check_drift

        check_drift(input, output, params, log, threads)
