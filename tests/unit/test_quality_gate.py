"""The quality_gate stage: threshold checks, the decision with its reasons, the comparison with production."""

from snaketrain.quality_gate import decide, production_check, threshold_checks

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
