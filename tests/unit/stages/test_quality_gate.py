"""The quality_gate stage: threshold checks, the decision with its reasons, the comparison with production."""

import json
from pathlib import Path

from snaketrain.registry import model_registry
from snaketrain.stages.quality_gate import (
    decide,
    production_check,
    run,
    schema_check,
    score_production,
    threshold_checks,
)
from snaketrain.table_io import read_json, write_json, write_table
from tests.fitted_models import NAME, publish_fitted, rows

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
    # a failure reads as one: never "within tolerance"
    assert check["reason"] == "f1 0.9 is worse than production v1 (0.95) by more than the tolerance 0.01"
    assert "within" not in production_check("f1", 0.94, 0.945, 0.01, "v1")["reason"]


def test_the_production_model_is_scored_on_the_current_test_split(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    test = rows(80, seed=4)
    write_table(test, tmp_path / "test.parquet")
    score = score_production(root, version, NAME, tmp_path / "test.parquet", "f1")
    assert 0.8 < score <= 1
    # (a production version with other columns, target or task is caught by schema_check before scoring)


LEGACY = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_registry"
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
        "columns": {"bill": "categorical", "island": "numeric", "year": "numeric"},
    }
    check = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=False)
    assert check["verdict"] == "fail"
    assert check["changes"] == {
        "columns_added": ["year"],
        "columns_removed": ["mass"],
        "columns_retyped": ["island (categorical -> numeric)"],
        "target": {"production": "species", "candidate": "sex"},
        "task": {"production": "binary", "candidate": "multiclass"},
    }
    assert "columns added: year; columns removed: mass" in check["reason"]
    assert "target species -> sex; task binary -> multiclass" in check["reason"]
    assert "gate.allow_schema_change" in check["reason"]
    decision = decide(BEST, [check])
    assert not decision["passed"] and decision["reasons"] == [check["reason"]]
    allowed = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=True)
    assert allowed["verdict"] == "pass" and "allowed by gate.allow_schema_change" in allowed["reason"]
    assert decide(BEST, [allowed])["passed"]


def test_a_number_now_read_as_a_code_is_a_feature_change_not_an_input_change():
    # a registered version of the old layout (tests/fixtures/legacy_registry): every column numeric, no kinds
    legacy = json.loads((LEGACY / "versions" / "7adbff7bd3a28336" / "metadata.json").read_text())
    columns = dict(legacy["input_schema"]["columns"])
    candidate = {"target": "target", "task": "binary", "columns": {**columns, "mean area": "categorical"}}
    check = schema_check(candidate, legacy, "7adbff7bd3a28336", "breast_cancer", allow=False)
    assert check["verdict"] == "pass" and check["changes"] == {}
    assert check["feature_changes"] == {"columns_recoded": ["mean area (numeric -> categorical)"]}
    assert "a feature change, not an input change" in check["reason"]
    # the other way, text a client sends would be refused: that still changes the input
    production = {**legacy, "input_schema": {**legacy["input_schema"], "columns": candidate["columns"]}}
    reverse = schema_check({**candidate, "columns": columns}, production, "v2", "breast_cancer", allow=False)
    assert reverse["verdict"] == "fail"
    assert reverse["changes"] == {"columns_retyped": ["mean area (categorical -> numeric)"]}


class Job:
    """The input/output/params objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def gate(tmp_path, root):
    """Run the stage on a candidate that takes the toy input; its decision."""
    write_json(BEST, tmp_path / "best.json")
    schema = {"target": "y", "task": "binary", "columns": {"x": "numeric", "n": "numeric", "colour": "categorical"}}
    write_json(schema, tmp_path / "schema.json")
    write_table(rows(80, seed=4), tmp_path / "test.parquet")
    job = Job(best=tmp_path / "best.json", schema=tmp_path / "schema.json", test=tmp_path / "test.parquet")
    params = Job(registry=root, name=NAME, gate={"thresholds": {}, "allow_schema_change": False, "tolerance": 1.0})
    run(job, Job(decision=tmp_path / "decision.json"), params, [tmp_path / "quality_gate.log"])
    return read_json(tmp_path / "decision.json")


def test_the_decision_records_the_production_version_it_compared_with(tmp_path):
    root = tmp_path / "registry"
    assert gate(tmp_path, root)["compared_with"] is None  # nothing in production yet
    version, _ = publish_fitted(root, tmp_path, "binary")
    model_registry.promote(root, version, NAME)
    decision = gate(tmp_path, root)
    assert decision["compared_with"] == version
    assert {c.get("production_version") for c in decision["checks"]} == {version}
