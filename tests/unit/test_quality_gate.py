"""The quality_gate stage: threshold checks, the decision with its reasons, the comparison with production."""

from snaketrain.quality_gate import decide, production_check, score_production, threshold_checks
from snaketrain.table_io import write_table
from tests.fitted_models import publish_fitted, rows

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


def test_the_production_model_is_scored_on_the_current_test_split(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    test = rows(80, seed=4)
    write_table(test, tmp_path / "test.parquet")
    score = score_production(root, version, tmp_path / "test.parquet", "binary", "f1")
    assert 0.8 < score <= 1
    # a production model trained on other columns or for another task is not compared
    write_table(test.drop(columns="colour"), tmp_path / "other.parquet")
    assert score_production(root, version, tmp_path / "other.parquet", "binary", "f1") is None
    assert score_production(root, version, tmp_path / "test.parquet", "regression", "rmse") is None
