"""Dataset drift from column verdicts, the metric check, and the retrain decision of each mode."""

from snaketrain.monitoring.verdict import dataset_verdict, metric_check, retrain_decision


def columns(*drifted):
    return {name: {"drifted": flag, "tested": True} for name, flag in zip("abcd", drifted, strict=False)}


def test_the_dataset_drifts_when_the_share_reaches_the_threshold():
    assert dataset_verdict(columns(True, True, False, False), 0.5)["dataset_drift"]
    verdict = dataset_verdict(columns(True, False, False, False), 0.5)
    assert not verdict["dataset_drift"] and verdict["share_drifted"] == 0.25 and verdict["drifted_columns"] == ["a"]
    untested = {**columns(True), "z": {"drifted": False, "tested": False}}
    assert dataset_verdict(untested, 0.5)["tested_columns"] == 1


def test_the_metric_holds_within_the_tolerance_in_its_direction():
    assert metric_check(0.95, 0.96, "f1", 0.02)["holds"]
    assert not metric_check(0.90, 0.96, "f1", 0.02)["holds"]
    assert not metric_check(12.0, 10.0, "rmse", 0.5)["holds"]


def test_on_drift_retrains_only_when_something_moved():
    calm, drifted = dataset_verdict(columns(False, False), 0.5), dataset_verdict(columns(True, True), 0.5)
    pointer = {"version": "v"}
    assert not retrain_decision("on_drift", pointer, calm, metric_check(0.95, 0.95, "f1", 0.02))["retrain"]
    assert retrain_decision("on_drift", pointer, drifted, None)["retrain"]
    assert retrain_decision("on_drift", pointer, calm, metric_check(0.5, 0.95, "f1", 0.02))["retrain"]
    assert retrain_decision("on_drift", None, None, None)["reasons"] == ["no model is in production yet"]
    assert not retrain_decision("never", pointer, drifted, None)["retrain"]
    assert retrain_decision("always", pointer, calm, None)["retrain"]
