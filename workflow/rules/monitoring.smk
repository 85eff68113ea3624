# Drift of current data against the production version's reference profile (snaketrain.monitoring), and the
# decision it feeds with monitoring.retrain: on_drift (the rest of `all` runs only when a retrain is due).
from snaketrain.registry import model_registry

RETRAIN = base_config("monitoring", "retrain")


def drift_inputs(wildcards):
    """The current data when it is a local file or this run's data; the production pointer when there is one
    (a promotion reruns the check); the training part only for a version registered before profiles.
    """
    inputs = {}
    current = base_config("monitoring", "current")
    if current is None:
        inputs["current"] = EXPERIMENTS.base_file(out("acquire_data", "data"))
    elif not current.startswith(("http://", "https://")) and Path(current).is_file():
        inputs["current"] = current
    pointer = model_registry.production_path(REGISTRY, MODEL_NAME)
    if pointer.is_file():
        inputs["production"] = str(pointer)
        version = json.loads(pointer.read_text())["version"]
        meta = model_registry.metadata_path(REGISTRY, version, MODEL_NAME)
        if meta.is_file() and model_registry.PROFILE_FILE not in json.loads(
            meta.read_text()
        ).get("files", {}):
            inputs["train"] = EXPERIMENTS.base_file(out("split_data", "train"))
            inputs["validation"] = EXPERIMENTS.base_file(out("validate_data", "report"))
    elif RETRAIN != "on_drift":
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
        drift=out("check_drift", "drift"),
        page=report(
            out("check_drift", "page"),
            caption="../report/drift.rst",
            category="6. Monitoring",
            labels={"view": "data drift against production"},
        ),
    log:
        LAYOUT.log("check_drift"),
    benchmark:
        LAYOUT.benchmark("check_drift")
    threads: 1
    resources:
        mem_mb=memory_mb(4000),
        runtime=30,
    params:
        code=stage_code("check_drift"),
        registry=REGISTRY,
        name=MODEL_NAME,
        monitoring=base_config("monitoring"),
        split=base_config("split"),
        delimiter=base_config("data", "delimiter"),
        encoding=base_config("data", "encoding"),
        attempts=base_config("data", "download_retries"),
        webhook_env=base_config("alerts", "webhook_env"),
        retries=base_config("alerts", "retries"),
        # a URL's content changes without Snakemake seeing it: each run that asks for the check reads it again
        requested=(
            RUN_STARTED
            if str(base_config("monitoring", "current")).startswith(
                ("http://", "https://")
            )
            else None
        ),
    run:
        from snaketrain.stages.check_drift import run as check_drift

        check_drift(input, output, params, log, threads)
