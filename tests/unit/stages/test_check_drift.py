"""The check_drift stage: a production version's profile (written once for an older version), the report, the
decision, the alert, and clear errors for a missing production version or a damaged profile."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from snaketrain.monitoring.reference import PROFILE_FILE
from snaketrain.registry import inference, model_registry
from snaketrain.stage_log import StageError
from snaketrain.stages.build_features import fit_transform
from snaketrain.stages.check_drift import read_current, run
from snaketrain.table_io import write_json, write_table
from tests.fitted_models import SETTINGS, rows

NAME = "toy"
SPLIT = {"test_size": 0.2, "stratify": True, "seed": 42}
MONITORING = {
    "retrain": "on_drift",
    "current": None,
    "drift_share": 0.5,
    "metric_tolerance": 0.02,
    "thresholds": {},
    "columns": {},
}


class Job:
    def __init__(self, **items):
        self.__dict__.update(items)


def old_version(root, tmp_path):
    """A production version registered before profiles (no profile.json), trained on rows(200)."""
    train = rows(200)
    preprocessor, features, _, schema = fit_transform(train, train, "y", SETTINGS)
    model = LogisticRegression().fit(features.drop(columns="y"), train["y"])
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), tmp_path / "pipeline.skops")
    meta = {
        "model": "linear",
        "task": "binary",
        "metrics": {"f1": 0.95},
        "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")},
        "dataset_sha256": "ab" * 32,
        "config": {"split": SPLIT},
    }
    version, _ = model_registry.publish(root, {"pipeline.skops": tmp_path / "pipeline.skops"}, meta, NAME)
    model_registry.promote(root, version, NAME)
    write_table(train, tmp_path / "train.parquet")
    write_json({"dataset_sha256": "ab" * 32}, tmp_path / "validation.json")
    return version, train


def job(tmp_path, current, **monitoring):
    write_table(current, tmp_path / "current.parquet")
    return (
        Job(
            current=str(tmp_path / "current.parquet"),
            train=str(tmp_path / "train.parquet"),
            validation=str(tmp_path / "validation.json"),
        ),
        Job(drift=str(tmp_path / "drift.json"), page=str(tmp_path / "drift.html")),
        Job(
            registry=str(tmp_path / "registry"),
            name=NAME,
            monitoring={**MONITORING, **monitoring},
            split=SPLIT,
            delimiter=",",
            encoding="utf-8",
            attempts=1,
            webhook_env="NO_SUCH_WEBHOOK_VARIABLE",
            retries=1,
        ),
        [str(tmp_path / "check_drift.log")],
    )


def report(tmp_path):
    return json.loads((tmp_path / "drift.json").read_text())


def test_an_older_version_gets_a_profile_and_unchanged_data_does_not_drift(tmp_path):
    version, train = old_version(tmp_path / "registry", tmp_path)
    run(*job(tmp_path, rows(200, seed=1)))
    files = model_registry.verified_files(tmp_path / "registry", version, NAME)
    assert PROFILE_FILE in files  # written once, covered by the version's sha256s
    result = report(tmp_path)
    assert result["dataset_drift"] is False and result["share_drifted"] == 0.0
    assert set(result["columns"]) == {"x", "n", "colour"}
    assert set(result["columns"]["x"]) >= {"test", "statistic", "threshold", "drifted"}
    assert result["metric"]["metric"] == "f1" and result["metric"]["holds"]
    assert result["decision"] == {"retrain": False, "reasons": [result["decision"]["reasons"][0]]}
    assert result["production"]["version"] == version
    assert "had no reference profile" in (tmp_path / "check_drift.log").read_text()


def test_shifted_data_drifts_retrains_alerts_and_plots_each_drifted_column(tmp_path):
    old_version(tmp_path / "registry", tmp_path)
    current = rows(200, seed=2).drop(columns="y")
    current["x"] += 2.0
    current["colour"] = np.where(np.arange(200) % 2, "purple", current["colour"])
    run(*job(tmp_path, current))
    result = report(tmp_path)
    assert result["dataset_drift"] is True and result["drifted_columns"] == ["colour", "x"]
    assert result["metric"] is None and result["decision"]["retrain"]
    assert result["prediction"]["drifted"]
    assert (tmp_path / "drift.html").read_text().count("data:image/png;base64") == 2
    assert "the data of model 'toy' drifted" in (tmp_path / "check_drift.log").read_text()


def test_a_profile_changed_after_registration_is_refused(tmp_path):
    version, _ = old_version(tmp_path / "registry", tmp_path)
    run(*job(tmp_path, rows(200, seed=1)))
    path = model_registry.version_dir(tmp_path / "registry", version, NAME) / PROFILE_FILE
    path.write_text(path.read_text().replace('"format":2', '"format":3'))
    with pytest.raises(StageError, match="profile.json of version .* was changed after registration"):
        run(*job(tmp_path, rows(200, seed=1)))


def test_a_version_without_profile_trained_on_other_data_is_explained(tmp_path):
    old_version(tmp_path / "registry", tmp_path)
    write_json({"dataset_sha256": "cd" * 32}, tmp_path / "validation.json")
    with pytest.raises(StageError, match="registered before reference profiles"):
        run(*job(tmp_path, rows(200, seed=1)))


def test_without_production_only_on_drift_goes_on(tmp_path):
    with pytest.raises(StageError, match="has no version in production"):
        run(*job(tmp_path, rows(50), retrain="never"))
    run(*job(tmp_path, rows(50)))
    assert report(tmp_path)["decision"] == {"retrain": True, "reasons": ["no model is in production yet"]}


def test_of_a_parquet_file_only_the_columns_the_check_reads_are_read(tmp_path):
    current = rows(50, seed=3).assign(request_id=np.arange(50))
    write_table(current, tmp_path / "current.parquet")
    df = read_current(str(tmp_path / "current.parquet"), ",", "utf-8", 1, columns={"x", "colour", "y", "gone"})
    assert list(df.columns) == [c for c in current.columns if c in {"x", "colour", "y"}]  # "gone": named later
