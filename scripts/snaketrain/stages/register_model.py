"""Register the gated best model as a version of its registered model name: the fitted Pipeline (skops, safe to
load) plus the model and preprocessor files, metadata, and a receipt in results/. The receipt also says which path
the service would serve the version by (fast_path_verdict)."""

import platform
import subprocess
from importlib import metadata as package_metadata

from snaketrain import custom_features
from snaketrain.monitoring.reference import PROFILE_FILE, training_profile, write_profile
from snaketrain.registry import model_registry as registry
from snaketrain.registry.inference import PIPELINE_FILE, load_version, make_pipeline, save_pipeline, trusted_types
from snaketrain.serving import agreement, fast_path
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_joblib, read_json, read_table, write_json

STAGE = "register_model"
RECORDED_PACKAGES = ("scikit-learn", "skops", "pandas", "numpy", "pyarrow", "joblib", "snakemake")
VERDICT_ROWS = 10_000  # the most test rows the conversion is checked on (beside the fast path's own probe rows)


def package_versions(names=RECORDED_PACKAGES):
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit():
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def build_metadata(decision, evaluation, tuned, schema, validation, config_sections, estimator):
    """Everything a later reader needs to trust and reuse the version; no timestamps (those go in the receipt)."""
    return {
        "model": decision["model"],
        # the resolved entry: class path, params, search space (resolve_estimator)
        "estimator": {key: estimator[key] for key in ("estimator", "params", "search_space") if key in estimator},
        "estimator_library": estimator.get("library"),
        "task": schema["task"],
        # binary: the class the metrics are of and the decision threshold inside the Pipeline (gate, drift check
        # and history compare F1s of one class only)
        **{key: evaluation[key] for key in ("positive_class", "threshold", "threshold_on") if key in evaluation},
        "metrics": evaluation["metrics"],
        "best_params": tuned["best_params"],
        "cv_score": tuned["cv_score"],
        "input_schema": {k: schema[k] for k in ("target", "columns", "dtypes")},
        # the user's feature code (features.custom) the model needs, by file, function and sha256
        **({"custom_features": schema["custom"]} if schema.get("custom") else {}),
        "dataset_sha256": validation["dataset_sha256"],
        "config": config_sections,
        "packages": package_versions(),
        "git_commit": git_commit(),
    }


def fast_path_verdict(root, version, name, test, rows=VERDICT_ROWS, seed=0):
    """Which path the service would serve the registered version by, checked now as the service checks it when it
    loads the version: ONNX Runtime when the Pipeline converts and agrees with scikit-learn on the version's test split
    (at most `rows` of it) and on probe rows, else scikit-learn, and why. It goes in the receipt, not in the version:
    a file added to the version would change its id, and the service checks again anyway, with its own host's
    packages."""
    missing = fast_path.missing_runtime()
    if missing:
        return {"engine": None, "why": f"not checked: {', '.join(missing)} not installed (requirements-serve.txt)"}
    loaded = load_version(root, version, name, stage=STAGE)
    columns = list(loaded.input_schema["columns"])
    check = test[columns].sample(min(rows, len(test)), random_state=seed) if len(test) else None
    predictor = fast_path.build(loaded, "auto", check)
    return {
        "engine": predictor.engine,
        "why": predictor.fallback_reason,
        "checked_on": f"{0 if check is None else len(check)} test rows and {agreement.PROBE_ROWS} probe rows",
        "packages": package_versions(fast_path.RUNTIME),
    }


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        decision = read_json(input.decision)
        if not decision["passed"]:
            raise StageError(
                STAGE,
                "the gate did not pass, so nothing may be registered",
                "this is a workflow bug: report it",
                str(input.decision),
            )
        meta = build_metadata(
            decision,
            read_json(input.metrics),
            read_json(input.best_params),
            read_json(input.schema),
            read_json(input.validation),
            params.config_sections,
            estimator := read_json(input.estimator),
        )
        # results/ holds this run's own intermediate files; the registry gets the form that loads safely, holding
        # only the types scikit-learn and the model's family are trusted with
        pipeline = make_pipeline(read_joblib(input.preprocessor), read_joblib(input.model))
        save_pipeline(pipeline, output.pipeline, trusted_types(estimator["estimator"]))
        # the reference the drift check compares current data with: the training part and the model's answers on it
        custom = meta.get("custom_features")
        features = custom_features.check_unchanged(custom, stage=STAGE) if custom else None
        train = read_table(input.train)
        profile = training_profile(train, meta["input_schema"], meta["task"], pipeline, STAGE, features)
        write_profile(profile, output.profile)
        files = {PIPELINE_FILE: output.pipeline, "model.joblib": input.model, "preprocessor.joblib": input.preprocessor}
        files[PROFILE_FILE] = output.profile
        version, created = registry.publish(params.registry, files, meta, params.name)
        logger.info(
            "%s version %s of %s (model %s) in %s",
            "registered" if created else "already had",
            version,
            params.name,
            decision["model"],
            params.registry,
        )
        verdict = fast_path_verdict(params.registry, version, params.name, read_table(input.test))
        logger.info(
            "the service would serve version %s with %s%s",
            version,
            verdict["engine"] or "an engine not checked here",
            f" ({verdict['why']})" if verdict["why"] else "",
        )
        write_json(
            {
                "name": params.name,
                "version": version,
                "model": decision["model"],
                "created": created,
                "registry": params.registry,
                "registered_at": registry.now_utc(),
                "fast_path": verdict,
            },
            output.receipt,
        )
