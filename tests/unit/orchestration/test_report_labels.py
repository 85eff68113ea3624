"""The report menu's labels show each outcome: checks, the best model, the gate's verdict."""

from types import SimpleNamespace

from snaketrain.orchestration.report_labels import comparison_labels, gate_labels, validation_labels
from snaketrain.table_io import write_json


def files(tmp_path, **contents):
    paths = {}
    for name, content in contents.items():
        paths[name] = str(tmp_path / f"{name}.json")
        write_json(content, paths[name])
    return SimpleNamespace(**paths)


def test_validation_label_counts_checks_not_passed(tmp_path):
    checks = [{"verdict": "pass"}, {"verdict": "warn"}, {"verdict": "pass"}]
    label = validation_labels({}, files(tmp_path, validation={"checks": checks, "rows": 569}))
    assert label == {"validation": "3 checks, 1 not passed; 569 rows"}


def test_comparison_label_names_the_best_model(tmp_path):
    best = {"best_model": "rf", "metric": "f1", "metrics": {"f1": 0.94}}
    assert comparison_labels({}, files(tmp_path, best=best)) == {"table": "ranking; best: rf (f1 0.94)"}


def test_gate_label_says_passed_with_the_version_or_failed_with_the_reasons(tmp_path):
    passed = files(tmp_path, decision={"passed": True, "model": "rf"}, outcome={"version": "0123abcd"})
    assert gate_labels({}, passed) == {"decision": "PASSED: rf registered as 0123abcd, in production"}
    failed = files(tmp_path, decision={"passed": False, "model": "rf", "reasons": ["f1 0.8 misses >= 0.9", "x"]})
    assert gate_labels({}, failed) == {"decision": "FAILED: rf not promoted; f1 0.8 misses >= 0.9; x"}
