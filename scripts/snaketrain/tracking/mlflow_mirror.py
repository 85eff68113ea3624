"""Mirror pipeline runs and the model registry to MLflow (optional: tracking.mlflow_uri or MLFLOW_TRACKING_URI).

Our file registry is the source of truth; MLflow mirrors it, so that teams see runs and models in its UI:
- each pipeline run becomes one MLflow run (the config as params; tags: dataset sha256, git commit, registry
  version) with one nested run per model (its tuned params, test metrics and diagnostic plots);
- each registry version becomes a version of the MLflow registered model of the same name, found again by its
  tag snaketrain.version, so mirroring twice never registers twice;
- the alias `production` follows our production pointer (deploy, rollback, sync).
Each mirrored version also gets an MLflow model directory (versions/<id>/mlflow/: MLmodel with the input
signature from the recorded input schema and an input example, the scikit-learn Pipeline in MLflow's sklearn
flavour, skops format), which `mlflow models serve -m <dir> --env-manager local` serves unchanged. A version trained
with the user's feature code (features.custom) carries a copy of that file in the directory's code/, and its
Pipeline runs the function on the raw input columns first, as inference does.

MLflow unreachable or refusing never fails the pipeline: the registry is written and production moves anyway,
the receipt and the end-of-run summary say what was not mirrored and how to re-sync (sync_mlflow).

The tracking URI may hold a password: it is never logged, written or shown; messages name the setting it came
from (Tracking.setting) and every MLflow error text passes through redact(). mlflow is imported only inside the
functions that talk to it, so a Snakemake start never pays for it.
"""

import hashlib
import json
import logging
import math
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from snaketrain import custom_features
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError

ALIAS = "production"
VERSION_TAG = "snaketrain.version"
MLFLOW_DIR = "mlflow"
CONFIG_KEY = "tracking.mlflow_uri"
ENV_KEY = "MLFLOW_TRACKING_URI"
EXAMPLE_ROWS = 5
# MLflow's limits: a param value holds at most 6000 characters; a batch at most 100 params
PARAM_VALUE_MAX = 6000
BATCH_MAX = 100
# Fail fast when the server is down (MLflow's defaults retry for minutes); the user may set other values.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    # MLflow prints "View run ... at <tracking URI>"; that URI may hold the password
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
SYNC_COMMAND = "snakemake --cores 1 sync_mlflow"
STAGE = "mirror_mlflow"


# ---- the setting: where MLflow is, named without its value


@dataclass(frozen=True)
class Tracking:
    """Where MLflow is. `setting` names where the URI came from; the URI itself never reaches a message."""

    setting: str
    uri: str = field(repr=False)


def tracking_from(configured, environ):
    """Tracking from tracking.mlflow_uri (first) or the MLFLOW_TRACKING_URI environment variable; None = off."""
    if configured:
        return Tracking(CONFIG_KEY, configured)
    if environ.get(ENV_KEY, "").strip():
        return Tracking(ENV_KEY, environ[ENV_KEY].strip())
    return None


def tracked_config(config):
    """The config an MLflow run records as params: all of it but the tracking URI and what only predict reads."""
    return {key: value for key, value in config.items() if key not in ("tracking", "predict", "experiments", "only")}


def redact(text, tracking):
    """text with the tracking URI and any credential inside it replaced by the setting's name."""
    text = str(text)
    if tracking is None:
        return text
    parts = urlsplit(tracking.uri)
    secrets = {tracking.uri, tracking.uri.rstrip("/"), parts.netloc}
    if parts.password:
        secrets |= {parts.password, unquote(parts.password)}
    secrets |= {value for _, value in parse_qsl(parts.query)}
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, f"<{tracking.setting}>")
    return text


# ---- pure: what MLflow receives


def flat_params(tree, prefix=""):
    """A nested config as MLflow params: {"gate.thresholds.f1": "0.9", ...}, values as JSON unless strings."""
    params = {}
    for key, value in sorted(tree.items()):
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            params.update(flat_params(value, f"{name}."))
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        params[name] = text[:PARAM_VALUE_MAX]
    return params


def finite_metrics(metrics):
    """The metrics MLflow can store (numbers, not NaN or missing)."""
    return {
        name: float(value)
        for name, value in sorted(metrics.items())
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def column_types(input_schema):
    """MLflow column types for the recorded input columns: integers long, other numbers double, categories string."""
    types = {}
    for column, kind in input_schema["columns"].items():
        dtype = str(input_schema.get("dtypes", {}).get(column, ""))
        if kind != "numeric":
            types[column] = "string"
        elif dtype.lower().startswith(("int", "uint")):
            types[column] = "long"
        else:
            types[column] = "double"
    return types


def example_rows(rows, input_schema, count=EXAMPLE_ROWS):
    """The first rows of a table as an input example (input columns only), or one made-up row from the schema
    when there is no table that has every input column."""
    import pandas as pd

    columns = list(input_schema["columns"])
    if rows is not None and set(columns) <= set(rows.columns) and len(rows):
        return rows[columns].head(count).reset_index(drop=True)
    made_up = {"long": 0, "double": 0.0, "string": ""}
    return pd.DataFrame([{c: made_up[t] for c, t in column_types(input_schema).items()}])


def run_tags(validation, version_metadata, decision, name):
    tags = {
        "snaketrain.dataset_sha256": validation.get("dataset_sha256"),
        "snaketrain.git_commit": (version_metadata or {}).get("git_commit") or git_commit(),
        "snaketrain.registered_model": name,
        "snaketrain.gate": "passed" if decision["passed"] else "failed",
        "snaketrain.best_model": decision["model"],
    }
    if version_metadata:
        tags[VERSION_TAG] = version_metadata["version"]
    return {key: str(value) for key, value in tags.items() if value is not None}


def git_commit():
    # the same question register_model asks; needed here for runs whose gate failed (no version metadata)
    import subprocess

    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


# ---- the registry, as the named-registry contract gives it (REGISTRY_API.md)


def sklearn_pipeline(loaded, example, stage=STAGE):
    """The version's fitted scikit-learn Pipeline behind the steps inference runs before it, so that MLflow alone
    predicts from the raw input columns as our service does. Its first step hands on the recorded input columns in
    the order inference uses, whatever order a client sends them in: a ColumnTransformer passing the columns through
    by name (scikit-learn's own part, so that MLflow alone loads it). With features.custom, the user's function
    comes next (preprocessing.user_features, importing the file the model directory carries), then the same
    selection of the columns the Pipeline was fitted with (the function's output, not the raw input)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from snaketrain.preprocessing import user_features

    def select(columns, rows):
        step = ColumnTransformer([("input", "passthrough", columns)], verbose_feature_names_out=False)
        return step.set_output(transform="pandas").fit(rows[columns])

    fitted = list(getattr(loaded.pipeline, "feature_names_in_", [])) or list(loaded.input_schema["columns"])
    recorded = loaded.metadata.get("custom_features")
    if not recorded:
        return Pipeline([("input", select(fitted, example)), ("model", loaded.pipeline)])
    raw = list(loaded.input_schema["columns"])
    features = FunctionTransformer(
        user_features,
        kw_args={"module": custom_features.module_name(recorded["sha256"]), "function": recorded["function"]},
    )
    # the function runs here from the project's file (verified by load_version): the saved step imports it by name
    computed = custom_features.apply(loaded.features, example[raw], stage)
    return Pipeline(
        [
            ("input", select(raw, example)),
            ("features", features.fit(example[raw])),
            ("columns", select(fitted, computed)),
            ("model", loaded.pipeline),
        ]
    )


def feature_code(recorded, project, folder, stage=STAGE):
    """The user's feature file (features.custom) copied to folder under the module name the Pipeline imports it by,
    checked against the sha256 the version records: the model directory never carries other code than the code
    the model was trained with."""
    source = Path(project) / recorded["file"]
    content = source.read_bytes()
    if hashlib.sha256(content).hexdigest() != recorded["sha256"]:
        raise StageError(
            stage,
            f"{recorded['file']} changed while its model's MLflow directory was being written",
            "restore the file as it was, or train and register a model with the new code",
            recorded["file"],
        )
    target = Path(folder) / f"{custom_features.module_name(recorded['sha256'])}.py"
    target.write_bytes(content)
    return target


# the snaketrain modules a registered Pipeline may refer to: its preprocessing steps (as_text, calendar features,
# filled text), XGBoost's classifier on users' labels and spline_linear's models; none imports from snaketrain
MODEL_MODULES = ("preprocessing.py", "xgboost_labels.py", "spline_models.py")


def code_package(folder):
    """A copy of the snaketrain modules a registered Pipeline refers to, as the package snaketrain under folder:
    given to MLflow as code_paths, so that the model directory loads where only MLflow and its requirements are
    installed."""
    import snaketrain

    source = Path(snaketrain.__file__).parent
    package = Path(folder) / "snaketrain"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""{snaketrain.__doc__.splitlines()[0]} (the part a model needs)"""\n')
    for module in MODEL_MODULES:
        shutil.copyfile(source / module, package / module)
    return package


# ---- the MLflow model directory beside a version's files (written locally, also when the server is down)


def mlflow_model_dir(root, version, name):
    return Path(registry.version_dir(root, version, name)) / MLFLOW_DIR


def write_mlflow_model(root, version, name, rows=None, project="."):
    """versions/<id>/mlflow/ (MLmodel, the Pipeline in the sklearn flavour, skops format), written once: staged
    beside it and renamed into place, so it is whole or absent. Returns its path.

    project: the directory holding the version's feature code (features.custom), when it has some."""
    final = mlflow_model_dir(root, version, name)
    if (final / "MLmodel").is_file():
        return final
    _quiet_mlflow()
    import mlflow.sklearn
    import skops.io
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    from snaketrain.registry import inference

    # verified files; the feature code, if any, refused when it changed since training
    loaded = inference.load_version(root, version, name, STAGE, project)
    meta = loaded.metadata
    example = example_rows(rows, meta["input_schema"])
    types = column_types(meta["input_schema"])
    example = example.astype({c: "float64" for c, t in types.items() if t == "double"})
    pipeline = sklearn_pipeline(loaded, example)
    # the raw input columns a client sends (with features.custom, the function's input, not its output)
    inputs = Schema([ColSpec(kind, column) for column, kind in types.items()])
    with warnings.catch_warnings():
        # MLflow's hint about integer columns concerns inferred inputs; ours come from the recorded schema
        warnings.simplefilter("ignore")
        # our own inference path: the saved Pipeline imports the user's file by a name only code/ provides
        outputs = infer_signature(example, inference.predict(loaded, example, STAGE).labels).outputs
    # every type in the Pipeline is ours (built above): trust exactly those skops lists
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    staging = final.parent / f".tmp-{MLFLOW_DIR}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        custom, recorded = [], {}
        if meta.get("custom_features"):
            recorded = {"custom_features": {k: meta["custom_features"][k] for k in ("file", "function", "sha256")}}
            (staging / "code").mkdir()
            custom = [str(feature_code(meta["custom_features"], project, staging / "code"))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside MLflow's example writer
            mlflow.sklearn.save_model(
                pipeline,
                staging / MLFLOW_DIR,
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                skops_trusted_types=trusted,
                signature=ModelSignature(inputs=inputs, outputs=outputs),
                input_example=example,
                # listed, not inferred: inference loads the model in a subprocess (seconds)
                pip_requirements=_requirements((meta.get("estimator_library") or {}).get("name")),
                code_paths=[str(code_package(staging / "code"))] + custom,
                metadata={VERSION_TAG: version, "registered_model": name, **recorded},
            )
        try:
            os.rename(staging / MLFLOW_DIR, final)
        except OSError:
            if not (final / "MLmodel").is_file():  # another process wrote the same directory first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _requirements(library=None):
    """What loading and predicting need where snaketrain is not installed (its modules travel in code/): and the
    model's own library (xgboost-cpu, lightgbm, catboost), by the distribution installed here."""
    from importlib import metadata

    names = ["mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy", "pyarrow"]
    if library and library != "sklearn":
        names += metadata.packages_distributions().get(library, [library])[:1]
    return [f"{name}=={metadata.version(name)}" for name in names]


# ---- the I/O edge: talking to MLflow


def _quiet_mlflow():
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


class _Redacting(logging.Filter):
    def __init__(self, tracking):
        super().__init__()
        self.tracking = tracking

    def filter(self, record):
        record.msg, record.args = redact(record.getMessage(), self.tracking), None
        return True


def client_for(tracking):
    """An MlflowClient for both tracking and the model registry at the configured URI."""
    _quiet_mlflow()
    from mlflow import MlflowClient

    # MLflow's own log lines (on the terminal) could quote the URI: pass them through redact()
    for handler in logging.getLogger("mlflow").handlers:
        if not any(isinstance(f, _Redacting) for f in handler.filters):
            handler.addFilter(_Redacting(tracking))
    return MlflowClient(tracking_uri=tracking.uri, registry_uri=tracking.uri)


def experiment_id(client, name):
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    return client.create_experiment(name)


def log_batch(client, run_id, params=None, metrics=None, tags=None):
    import time

    from mlflow.entities import Metric, Param, RunTag

    stamp = int(time.time() * 1000)
    params = [Param(k, v) for k, v in (params or {}).items()]
    for start in range(0, len(params), BATCH_MAX):
        client.log_batch(run_id, params=params[start : start + BATCH_MAX])
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, stamp, 0) for k, v in (metrics or {}).items()],
        tags=[RunTag(k, v) for k, v in (tags or {}).items()],
    )


def mirrored_versions(client, name):
    """{registry version id: MLflow version number} of the versions MLflow already holds under name."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name, description="mirrored from the snaketrain registry")
        return {}
    found, token = {}, None
    while True:
        page = client.search_model_versions(f"name='{name}'", page_token=token)
        for version in page:
            if VERSION_TAG in version.tags:
                found.setdefault(version.tags[VERSION_TAG], int(version.version))
        token = page.token
        if not token:
            return found


def register_version(client, name, version, run_id, model_dir):
    """Upload the MLflow model directory to the run and create the MLflow model version; returns its number."""
    client.log_artifacts(run_id, str(model_dir), "model")
    created = client.create_model_version(
        name,
        source=f"runs:/{run_id}/model",
        run_id=run_id,
        tags={VERSION_TAG: version},
        description=f"snaketrain registry version {version}",
    )
    return int(created.version)


def set_production_alias(client, name, number):
    """Point the alias at the MLflow version number, unless it already does; returns True if it moved."""
    from mlflow.exceptions import MlflowException

    try:
        if int(client.get_model_version_by_alias(name, ALIAS).version) == number:
            return False
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise
    client.set_registered_model_alias(name, ALIAS, str(number))
    return True


def version_run(client, experiment, meta, name):
    """An MLflow run standing for a registry version whose pipeline run was never mirrored (sync)."""
    tags = {
        "mlflow.runName": f"registry version {meta['version']}",
        VERSION_TAG: meta["version"],
        "snaketrain.registered_model": name,
        "snaketrain.dataset_sha256": meta.get("dataset_sha256"),
        "snaketrain.git_commit": meta.get("git_commit"),
        "snaketrain.best_model": meta.get("model"),
        "snaketrain.mirrored_by": "sync_mlflow",
    }
    run_id = client.create_run(experiment).info.run_id
    log_batch(
        client,
        run_id,
        params=flat_params({**meta.get("config", {}), "best_params": meta.get("best_params", {})}),
        metrics=finite_metrics(meta.get("metrics", {})),
        tags={k: str(v) for k, v in tags.items() if v is not None},
    )
    client.set_terminated(run_id)
    return run_id


def sync(client, root, name, logger, rows=None, owner=None):
    """Mirror every registry version of name that MLflow lacks, then the production alias. Idempotent.

    owner: (registry version, MLflow run id) of the pipeline run that registered that version (its MLflow model
    goes there); other versions get a run of their own. A version whose model directory cannot be written (its
    feature code changed since) is skipped with a warning. Returns {"created": [registry versions], "skipped": [...],
    "numbers": {version: number}, "alias": ...}.
    """
    experiment = experiment_id(client, name)
    numbers = mirrored_versions(client, name)
    created, skipped = [], []
    entries = registry.registered_versions(root, name)
    for entry in entries:
        version = entry["version"]
        if version in numbers:
            continue
        try:
            model_dir = write_mlflow_model(root, version, name, rows)
        except StageError as error:
            # e.g. its feature code changed since it was trained: that version cannot be mirrored faithfully,
            # the others still can
            logger.warning("MLflow: registry version %s of %s not mirrored: %s", version, name, error.problem)
            skipped.append(version)
            continue
        meta = registry.metadata(root, version, name)
        # the pipeline run that registered this version holds its model; an older version gets a run of its own
        run_id = owner[1] if owner and owner[0] == version else version_run(client, experiment, meta, name)
        numbers[version] = register_version(client, name, version, run_id, model_dir)
        created.append(version)
        logger.info("MLflow: registered %s version %d for registry version %s", name, numbers[version], version)
    current = registry.production(root, name)
    alias = None
    if current and current["version"] in numbers:
        alias = {"registry_version": current["version"], "model_version": numbers[current["version"]]}
        if set_production_alias(client, name, alias["model_version"]):
            logger.info("MLflow: alias %s of %s -> version %d", ALIAS, name, alias["model_version"])
    return {"created": created, "skipped": skipped, "numbers": numbers, "alias": alias}


def production_alias_command(root, name, tracking, logger=None):
    """After a rollback (or any move of production): move the MLflow alias too; never raises.

    The rollback_model rule and command call it after model_registry.rollback() when tracking is on. Returns a message saying what happened (for the rollback's log and terminal).
    """
    if tracking is None:
        return None
    try:
        synced = sync(client_for(tracking), root, name, logger or logging.getLogger(__name__))
    except Exception as error:  # noqa: BLE001 - the registry moved; MLflow only mirrors
        return (
            f"the MLflow alias {ALIAS} of {name} was NOT moved ({tracking.setting}: {type(error).__name__}: "
            f"{redact(error, tracking)}); re-sync: {SYNC_COMMAND}"
        )
    alias = synced["alias"]
    return f"MLflow alias {ALIAS} of {name} -> version {alias['model_version']}" if alias else None
