"""The sync_mlflow rule: bring MLflow level with the registry (every version and the production alias it lacks)."""

from snaketrain.stage_log import StageError, stage_logging
from snaketrain.tracking.mlflow_mirror import ALIAS, CONFIG_KEY, ENV_KEY, client_for, redact, sync


def run(root, name, tracking, log_path):
    """Mirror every version and the production alias that MLflow lacks (idempotent)."""
    with stage_logging(log_path, "sync_mlflow") as logger:
        if tracking is None:
            raise StageError(
                "sync_mlflow",
                "MLflow tracking is off, so there is nothing to sync to",
                f"set {CONFIG_KEY} in the config or the {ENV_KEY} environment variable",
                CONFIG_KEY,
            )
        try:
            client = client_for(tracking)
            synced = sync(client, root, name, logger)
        except Exception as error:
            raise StageError(
                "sync_mlflow",
                f"MLflow ({tracking.setting}) refused: {type(error).__name__}: {redact(error, tracking)}"[:2000],
                f"check that the MLflow server named by {tracking.setting} runs and accepts this client, "
                "then run sync_mlflow again (it only adds what MLflow lacks)",
                tracking.setting,
            ) from None
        alias = synced["alias"]
        message = (
            f"MLflow ({tracking.setting}) is level with the registry for {name}: "
            f"{len(synced['numbers'])} version(s), {len(synced['created'])} added now; "
            + (f"alias {ALIAS} -> version {alias['model_version']}" if alias else "nothing in production")
        )
        logger.info("%s", message)
        print(message)
        return synced
