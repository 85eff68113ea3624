"""The end-of-run summary on the terminal, read from the run's result files (paths as the Snakefile passes them)."""

from snaketrain import model_registry
from snaketrain.table_io import write_json
from snaketrain.terminal_summary import summary_lines

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
