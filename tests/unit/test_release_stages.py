"""Unit tests of the light release stages: gate decision, registry, alert payload."""

import json
import os

import pytest

from snaketrain import model_registry as registry
from snaketrain.quality_gate import decide, production_check, schema_check, threshold_checks
from snaketrain.raise_alert import build_alert
from snaketrain.stage_log import StageError

BEST = {"best_model": "rf", "metric": "f1", "metrics": {"accuracy": 0.95, "f1": 0.94}, "task": "binary"}


def test_thresholds_are_minimums_or_maximums_by_metric():
    checks = threshold_checks({"f1": 0.94, "rmse": 3.0}, {"f1": 0.9, "rmse": 2.0, "accuracy": 0.5})
    verdicts = {c["check"]: c["verdict"] for c in checks}
    assert verdicts == {"min f1": "pass", "max rmse": "fail", "min accuracy": "skipped"}


def test_gate_fails_with_reasons_and_passes_otherwise():
    failing = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.99}))
    assert not failing["passed"] and failing["reasons"] == ["f1 0.94 misses >= 0.99"]
    passing = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.9}))
    assert passing["passed"] and passing["model"] == "rf"


def test_candidate_worse_than_production_beyond_tolerance_fails():
    assert production_check("f1", 0.94, 0.945, 0.01, "v1")["verdict"] == "pass"
    check = production_check("f1", 0.90, 0.95, 0.01, "v1")
    assert check["verdict"] == "fail" and "worse than production v1" in check["reason"]


def make_files(tmp_path, model=b"model-bytes", pre=b"pre-bytes"):
    (tmp_path / "m.joblib").write_bytes(model)
    (tmp_path / "p.joblib").write_bytes(pre)
    return {"model.joblib": tmp_path / "m.joblib", "preprocessor.joblib": tmp_path / "p.joblib"}


def test_same_bytes_give_the_same_version(tmp_path):
    root = tmp_path / "registry"
    files = make_files(tmp_path)
    first, created = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}}, "iris")
    again, created_again = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}}, "iris")
    assert first == again and created and not created_again
    other, _ = registry.publish(root, make_files(tmp_path, model=b"other"), {"model": "rf"}, "iris")
    assert other != first
    assert set(registry.read_index(root, "iris")["versions"]) == {first, other}
    assert not [p for p in (registry.model_dir(root, "iris") / "versions").iterdir() if p.name.startswith(".tmp")]


def test_promote_moves_the_pointer_and_remembers_the_previous(tmp_path):
    root = tmp_path / "registry"
    v1, _ = registry.publish(root, make_files(tmp_path), {"model": "a"}, "iris")
    v2, _ = registry.publish(root, make_files(tmp_path, model=b"2"), {"model": "b"}, "iris")
    assert registry.promote(root, v1, "iris") is None
    assert registry.promote(root, v2, "iris") == v1
    assert registry.production(root, "iris")["version"] == v2


def test_a_changed_file_is_refused(tmp_path):
    root = tmp_path / "registry"
    version, _ = registry.publish(root, make_files(tmp_path), {"model": "a"}, "iris")
    path = registry.version_dir(root, version, "iris") / "model.joblib"
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(StageError, match="sha256 mismatch"):
        registry.verified_files(root, version, "iris")
    with pytest.raises(StageError):
        registry.promote(root, version, "iris")
    assert registry.production(root, "iris") is None


def test_alert_has_slack_text_and_details():
    decision = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.99}))
    alert = build_alert(decision)
    assert "NOT promoted" in alert["text"] and "f1 0.94 misses >= 0.99" in alert["text"]
    assert alert["decision"] == decision
    json.dumps(alert)


PRODUCTION_META = {
    "task": "binary",
    "input_schema": {"target": "species", "columns": {"bill": "numeric", "island": "categorical", "mass": "numeric"}},
}


def test_the_same_input_as_production_passes_the_schema_check():
    candidate = {
        "target": "species",
        "task": "binary",
        "columns": {"island": "categorical", "bill": "numeric", "mass": "numeric"},
    }
    check = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=False)
    assert check["verdict"] == "pass" and check["changes"] == {}


def test_other_columns_target_or_task_fail_the_gate_naming_what_changed():
    candidate = {
        "target": "sex",
        "task": "multiclass",
        "columns": {"bill": "categorical", "mass": "numeric", "year": "numeric"},
    }
    check = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=False)
    assert check["verdict"] == "fail"
    assert check["changes"] == {
        "columns_added": ["year"],
        "columns_removed": ["island"],
        "columns_retyped": ["bill (numeric -> categorical)"],
        "target": {"production": "species", "candidate": "sex"},
        "task": {"production": "binary", "candidate": "multiclass"},
    }
    assert "columns added: year; columns removed: island" in check["reason"]
    assert "target species -> sex; task binary -> multiclass" in check["reason"]
    assert "gate.allow_schema_change" in check["reason"]
    decision = decide(BEST, [check])
    assert not decision["passed"] and decision["reasons"] == [check["reason"]]
    allowed = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=True)
    assert allowed["verdict"] == "pass" and "allowed by gate.allow_schema_change" in allowed["reason"]
    assert decide(BEST, [allowed])["passed"]
