"""The end-of-run summary on the terminal, read from the run's result files (paths as the Snakefile passes them)."""

import json
from pathlib import Path

from snaketrain.orchestration.terminal_summary import summary_lines
from snaketrain.registry import model_registry
from snaketrain.table_io import write_json

PATHS = {  # not the workflow's own paths: the summary must take every path from its `paths` argument
    "decision": "out/gate.json",
    "best": "out/best.json",
    "table": "out/ranking.csv",
    "metrics": "out/metrics/{model}.json",
    "deploy": "out/deployed.json",
    "alert": "out/alert.json",
    "alert_log": "logs/alert.log",
}
BEST = {"best_model": "rf", "metric": "f1", "metrics": {"f1": 0.9412, "accuracy": 0.95}, "ranking": ["rf", "lr"]}
DECISION = {"passed": True, "name": "iris", "model": "rf", "metric": "f1", "value": 0.9412, "checks": [], "reasons": []}


def finished_run(tmp_path, decision):
    write_json(BEST, tmp_path / PATHS["best"])
    write_json(decision, tmp_path / PATHS["decision"])
    model = tmp_path / "model.bin"
    model.write_text("model")
    version, _ = model_registry.publish(tmp_path / "models", {"model.joblib": model}, {"model": "rf"}, "iris")
    model_registry.promote(tmp_path / "models", version, "iris")
    return version


def test_a_passed_gate_shows_the_model_its_metrics_and_where_it_was_registered(tmp_path):
    version = finished_run(tmp_path, DECISION)
    write_json({"version": version, "previous": None}, tmp_path / PATHS["deploy"])
    text = "\n".join(summary_lines("models", PATHS, "report.html", workdir=tmp_path))
    assert "  best model:   rf (f1 = 0.9412)" in text
    assert "  its metrics:  accuracy 0.95, f1 0.9412" in text
    assert "  metrics file: out/metrics/rf.json" in text
    assert "  all models:   out/ranking.csv (2 models)" in text
    assert "  quality gate: PASSED" in text
    assert f"  registered:   version {version} in models/models/iris/versions/{version}/" in text
    assert f"  production:   {version}" in text
    assert "  report:       report.html (open it in a browser)" in text
    assert "  history:      snaketrain-history --registry models --name iris" in text


def test_a_failed_gate_gives_the_reasons_and_where_the_alert_is(tmp_path):
    failed = {**DECISION, "passed": False, "value": 0.81, "reasons": ["f1 0.81 misses >= 0.9"]}
    version = finished_run(tmp_path, failed)
    lines = summary_lines("models", PATHS, None, workdir=tmp_path)
    text = "\n".join(lines)
    assert "  quality gate: FAILED - the model was NOT promoted; production is unchanged" in text
    assert "    - f1 0.81 misses >= 0.9" in lines
    assert "  alert:        out/alert.json (delivery: logs/alert.log)" in text
    assert f"  production:   {version}" in text
    assert "snakemake --report report.html" in text


def test_nothing_is_summarised_before_the_gate_has_run(tmp_path):
    assert summary_lines("models", PATHS, workdir=tmp_path) == []


# the paths as the workflow names them (the two tests below write their files there)
WORKFLOW_PATHS = {
    "validation": "results/validation/report.json",
    "decision": "results/gate/decision.json",
    "best": "results/comparison/best.json",
    "table": "results/comparison/metrics.csv",
    "metrics": "results/evaluation/{model}/metrics.json",
    "deploy": "results/deploy/receipt.json",
    "alert": "results/alerts/alert.json",
    "alert_log": "logs/raise_alert/raise_alert.log",
}


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def write_failed_gate(workdir):
    """The gate's decision and the comparison of a run whose gate failed (nothing registered)."""
    write(
        workdir / "results/gate/decision.json",
        {"name": "toy", "model": "ridge", "value": 0.9, "passed": False, "reasons": [], "checks": []},
    )
    best = {"metric": "f1", "metrics": {"f1": 0.9}, "best_model": "ridge", "ranking": ["ridge"]}
    write(workdir / "results/comparison/best.json", best)


def test_warned_data_checks_are_listed(tmp_path):
    write_failed_gate(tmp_path)
    checks = [
        {"check": "min_rows", "column": None, "value": 9, "verdict": "pass"},
        {
            "check": "similar_values",
            "column": "target",
            "value": 1,
            "verdict": "warn",
            "detail": "values that differ only by surrounding spaces or case: 'Adelie' and 'Adelie '",
        },
    ]
    write(tmp_path / "results/validation/report.json", {"checks": checks})
    lines = summary_lines("registry", WORKFLOW_PATHS, workdir=tmp_path)
    assert "  data checks:  1 warning(s), see results/report/validation.html" in lines
    assert (
        "    - similar_values column 'target': values that differ only by surrounding spaces or case: "
        "'Adelie' and 'Adelie '" in lines
    )


def test_no_warning_no_line(tmp_path):
    write_failed_gate(tmp_path)
    write(tmp_path / "results/validation/report.json", {"checks": []})
    assert not [line for line in summary_lines("registry", WORKFLOW_PATHS, workdir=tmp_path) if "data checks" in line]


def test_stale_pages_and_alerts_are_those_no_job_of_the_run_makes(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from snaketrain.orchestration.terminal_summary import remove_stale, stale_files

    monkeypatch.chdir(tmp_path)
    for path in ("results/report/validation.html", "results/report/experiments.html", "results/alerts/alert.json"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("x")

    def job(rule, *outputs):
        return SimpleNamespace(rule=SimpleNamespace(name=rule), output=list(outputs))

    one_config = SimpleNamespace(
        dag=SimpleNamespace(jobs=[job("summarize_run", "results/report/validation.html"), job("quality_gate")])
    )
    alert = ["results/alerts/alert.json"]
    assert stale_files(one_config, alerts=alert) == [Path("results/report/experiments.html"), Path(alert[0])]
    # a run that made no page and ran no gate (stopped after the drift check) leaves them alone
    drift_only = SimpleNamespace(dag=SimpleNamespace(jobs=[job("check_drift", "results/drift/drift.json")]))
    assert stale_files(drift_only, alerts=alert) == []
    assert remove_stale(one_config, alerts=alert) == [Path("results/report/experiments.html"), Path(alert[0])]
    assert sorted(p.name for p in Path("results").rglob("*") if p.is_file()) == ["validation.html"]


def test_the_summary_shows_the_positive_class_threshold_and_naive_rule_beside_the_model():
    from snaketrain.orchestration.terminal_summary import judgement_lines

    decision = {
        "metric": "f1",
        "value": 0.41,
        "positive_class": "bad",
        "threshold": 0.23,
        "naive": {"naive_rule": "always the positive class (bad)", "bound": 0.095, "lower_bound": 0.2},
    }
    lines = judgement_lines(decision)
    assert "class 'bad'" in lines[0] and "decision threshold 0.23" in lines[0]
    assert lines[1] == (
        "  naive rule:   always the positive class (bad): f1 0.095 beside the model's 0.41 (lower bound of the gain in f1 0.2)"
    )
    assert judgement_lines({"metric": "rmse", "value": 1.0}) == []
