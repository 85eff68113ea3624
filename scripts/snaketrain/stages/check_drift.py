"""Check current data against the reference profile of the production version of its name: per-column drift,
prediction drift, the production metric on labelled data, and whether the rest of the pipeline runs
(monitoring.retrain). Writes results/monitoring/drift.json and the report page; alerts when the dataset drifts."""

import tempfile

from snaketrain.data_files import compression_of, file_format, parse_table, read_file
from snaketrain.model_metrics import prediction_metrics, selection_metric
from snaketrain.monitoring import reference
from snaketrain.monitoring.drift_page import column_plot, drift_page
from snaketrain.monitoring.drift_tests import DEFAULT_THRESHOLDS, column_drift, current_values
from snaketrain.monitoring.verdict import dataset_verdict, metric_check, retrain_decision
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_bytes, write_json
from snaketrain.webhook import deliver

STAGE = "check_drift"


def is_url(location):
    return str(location).startswith(("http://", "https://"))


def read_current(location, delimiter, encoding, attempts, columns=None):
    """The current data: a CSV or Parquet file (possibly compressed) or an HTTP(S) URL, as acquire_data reads them.

    columns: the ones the check reads (the model's inputs and its target); of a local Parquet file only those are
    read, since logs of production inputs often carry more (ids, timestamps), and reading them would cost as much as
    the tests. A wanted column the file lacks is left to drift_of_columns, which names it."""
    if not is_url(location):
        if str(location).endswith(".parquet"):
            return read_table(location, columns=_parquet_columns(location, columns))
        return read_file(location, "auto", delimiter, encoding, STAGE, "monitoring.current", what="current data file")
    import requests

    from snaketrain.http_retry import request

    try:
        raw = request("GET", location, attempts, backoff=0.2, timeout=30, what="download").content
    except requests.RequestException as error:
        raise StageError(
            STAGE,
            f"could not read the current data from its URL ({type(error).__name__})",
            "check monitoring.current and the network",
            location,
        ) from None
    name = location.split("?")[0]
    return parse_table(raw, file_format(name, "auto"), delimiter, encoding, location, STAGE, compression_of(name))


def _parquet_columns(path, wanted):
    if wanted is None:
        return None
    import pyarrow.parquet as pq

    return [name for name in pq.read_schema(path).names if name in wanted]


def drift_of_columns(profile, df, thresholds, overrides):
    """{column: verdict} for every profiled column; a StageError naming the columns the current data lacks."""
    missing = [name for name in profile["columns"] if name not in df.columns]
    if missing:
        raise StageError(
            STAGE,
            f"the current data lacks {len(missing)} column(s) the production model was trained on: {', '.join(missing)}",
            "point monitoring.current at data with the model's input columns (the target may be absent)",
            "monitoring.current",
        )
    unknown = sorted(set(overrides) - set(profile["columns"]) - {"prediction"})
    if unknown:
        raise StageError(
            STAGE,
            f"monitoring.columns names column(s) the model does not take: {', '.join(unknown)}",
            "name input columns of the production model (or 'prediction'), or remove the entries",
            "monitoring.columns",
        )
    result = {}
    for name, ref in profile["columns"].items():
        setting = overrides.get(name, {})
        try:
            result[name] = column_drift(ref, df[name], setting.get("test"), setting.get("threshold"), thresholds)
        except ValueError as error:
            raise StageError(
                STAGE, f"column '{name}': {error}", "choose another test in monitoring.columns", name
            ) from None
    return result


def check(profile, df, loaded, settings, registered_at=None):
    """The drift report of current data df against a production version's profile (loaded: its model)."""
    thresholds = {**DEFAULT_THRESHOLDS, **settings["thresholds"]}
    overrides = settings["columns"]
    columns = drift_of_columns(profile, df, thresholds, overrides)
    report = {"columns": columns, **dataset_verdict(columns, settings["drift_share"])}
    prediction = inference.predict(loaded, df, STAGE, where="the current data")
    if "prediction" in profile:
        setting = overrides.get("prediction", {})
        import pandas as pd

        labels = pd.Series(prediction.labels)
        report["prediction"] = column_drift(
            profile["prediction"], labels, setting.get("test"), setting.get("threshold"), thresholds
        )
    target = profile["target"]
    report["metric"] = None
    if target in df.columns and df[target].notna().all():
        metric = selection_metric(
            ((loaded.metadata.get("config") or {}).get("selection") or {}).get("metric", "auto"), loaded.task
        )
        # of the class the registered metric is of: its recorded positive class, else (registered before positive
        # classes) the larger label, as it was then; never an F1 of one class against an F1 of another
        positive = loaded.metadata.get("positive_class")
        current = prediction_metrics(df[target], prediction, loaded.task, positive)[metric]
        registered = loaded.metadata["metrics"][metric]
        report["metric"] = metric_check(current, registered, metric, settings["metric_tolerance"])
        if loaded.task == "binary":
            of = positive if positive is not None else prediction.classes[1]
            report["metric"]["positive_class"] = of.item() if hasattr(of, "item") else of
    report["production"] = {
        "version": loaded.version,
        "model": loaded.metadata.get("model"),
        "registered_at": registered_at,
    }
    report["rows"] = len(df)
    return report


def profile_of(params, input, loaded, logger):
    """The production version's profile; written first for a version registered before profiles, from this run's
    training part when it is the one the version learned from."""
    profile = reference.version_profile(params.registry, params.name, loaded.version, STAGE)
    if profile is not None:
        return profile
    where = str(registry.version_dir(params.registry, loaded.version, params.name))
    validation = read_json(input.validation) if getattr(input, "validation", None) else {}
    if not getattr(input, "train", None) or not reference.backfill_allowed(
        loaded.metadata, validation.get("dataset_sha256"), params.split
    ):
        raise StageError(
            STAGE,
            f"version {loaded.version} of model '{params.name}' was registered before reference profiles, and the "
            "data it was trained on is not this run's (another dataset sha256 or split)",
            "retrain once (monitoring.retrain: always) to register a version with a profile, or run check_drift "
            "with the data and split the version was trained on",
            where,
        )
    train = read_table(input.train)
    profile = reference.training_profile(train, loaded.input_schema, loaded.task, loaded.pipeline, STAGE)
    with tempfile.TemporaryDirectory() as scratch:
        path = f"{scratch}/{reference.PROFILE_FILE}"
        reference.write_profile(profile, path)
        profile = reference.attach_profile(params.registry, params.name, loaded.version, path, STAGE)
    logger.warning(
        "version %s had no reference profile: wrote one from this run's training part (%s)", loaded.version, where
    )
    return profile


def drift_alert(report, name):
    text = (
        f":warning: snaketrain: the data of model '{name}' drifted from production version "
        f"{report['production']['version']}: {len(report['drifted_columns'])} of {report['tested_columns']} columns "
        f"({', '.join(report['drifted_columns'][:10])})"
    )
    return {
        "text": text,
        "event": "data_drift",
        "name": name,
        "share_drifted": report["share_drifted"],
        "drifted_columns": report["drifted_columns"],
    }


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        migrated = registry.migrate(params.registry, params.name)
        if migrated:
            logger.warning("%s", migrated)
        pointer = registry.production(params.registry, params.name)
        settings = params.monitoring
        if pointer is None:
            if settings["retrain"] != "on_drift":
                inference.load_production(params.registry, params.name, STAGE)  # raises, naming the fix
            report = {
                "name": params.name,
                "production": None,
                "dataset_drift": None,
                "share_drifted": None,
                "columns": {},
            }
            report["decision"] = retrain_decision("on_drift", None, None, None)
            plots = {}
        else:
            loaded = inference.load_production(params.registry, params.name, STAGE)
            profile = profile_of(params, input, loaded, logger)
            df = read_current(
                getattr(input, "current", None) or settings["current"],
                params.delimiter,
                params.encoding,
                params.attempts,
                columns={*profile["columns"], profile["target"]},
            )
            entry = registry.read_index(params.registry, params.name)["versions"].get(loaded.version, {})
            report = {"name": params.name, **check(profile, df, loaded, settings, entry.get("registered_at"))}
            report["decision"] = retrain_decision(settings["retrain"], pointer, report, report["metric"])
            plots = {
                name: column_plot(
                    name, profile["columns"][name], current_values(df[name], profile["columns"][name]["kind"])
                )
                for name in report["drifted_columns"]
                if report["columns"][name]["test"] != "missing"
            }
            logger.info(
                "%d of %d columns drifted (share %.3g, dataset drift: %s); decision: %s",
                len(report["drifted_columns"]),
                report["tested_columns"],
                report["share_drifted"],
                report["dataset_drift"],
                "retrain" if report["decision"]["retrain"] else "no retraining",
            )
        write_json(report, output.drift)
        write_bytes(drift_page(report, plots).encode("utf-8"), output.page)
        if report["dataset_drift"]:
            alert = drift_alert(report, params.name)
            logger.error("%s", alert["text"])
            deliver(alert, params.webhook_env, params.retries, logger)
