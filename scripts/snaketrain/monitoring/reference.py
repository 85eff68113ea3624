"""A version's reference profile in the registry: built at registration, read and verified by the drift check,
and written once into versions registered before profiles existed."""

from pathlib import Path

from snaketrain.monitoring.profile import ProfileError, build_profile, check_profile
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError
from snaketrain.table_io import read_json, write_bytes

PROFILE_FILE = registry.PROFILE_FILE


def training_profile(train, input_schema, task, pipeline, stage="register_model", features=None):
    """The profile of a training part, with the distribution of the pipeline's predictions on it (features: the
    user's feature function the pipeline needs first, features.custom)."""
    loaded = inference.LoadedModel(
        version=None, metadata={"task": task, "input_schema": input_schema}, pipeline=pipeline, features=features
    )
    predictions = inference.predict(loaded, train, stage, where="the training part").labels
    return build_profile(train, input_schema["columns"], input_schema["target"], task, predictions)


def write_profile(profile, path):
    """Compact JSON with sorted keys: the same profile gives the same bytes (about 1 KB per numeric column)."""
    import json

    write_bytes(json.dumps(profile, sort_keys=True, separators=(",", ":")).encode("utf-8"), path)


def version_profile(root, name, version, stage):
    """The verified profile of a version, or None when the version has none (registered before profiles)."""
    files = registry.verified_files(root, version, name, stage)
    if PROFILE_FILE not in files:
        return None
    try:
        return check_profile(read_json(files[PROFILE_FILE]))
    except (ValueError, ProfileError) as error:
        raise StageError(
            stage,
            f"the reference profile of version {version} of model '{name}' is damaged: {error}",
            "restore the version's folder from a backup, or retrain (monitoring.retrain: always) to register a "
            "version with a new profile",
            str(files[PROFILE_FILE]),
        ) from None


def backfill_allowed(meta, dataset_sha256, split):
    """A profile can be written afterwards only from the very training part the version learned from: the same
    data (sha256) split with the same settings."""
    config = meta.get("config") or {}
    return meta.get("dataset_sha256") == dataset_sha256 and config.get("split") == split


def attach_profile(root, name, version, profile_path, stage):
    """Add a profile file to a version registered before profiles (its sha256 joins the version's metadata)."""
    registry.add_file(root, version, name, PROFILE_FILE, Path(profile_path))
    return version_profile(root, name, version, stage)
