"""Alerts from real runs: a failed gate and a failed run reach a webhook; a dead webhook fails nothing."""

import json
import re
import shutil

import pytest
from tests.harness import copy_project, snakemake
from tests.http_server import LoopbackServer, closed_port_url

pytestmark = pytest.mark.workflow
HOOK_PATH = "/hooks/snaketrain"
STRICT_GATE = "gate:\n  thresholds:\n    f1: 0.999\n"
AFTER_GATE = {"quality_gate", "register_model", "deploy_model", "raise_alert", "summarize_run", "all"}


def executed_rules(output):
    return {match.group(1) for match in re.finditer(r"^(?:local)?(?:rule|checkpoint) (\w+):$", output, re.MULTILINE)}


def failing_gate_run(default_run, tmp_path, webhook_url):
    workdir = tmp_path / "project"
    shutil.copytree(default_run, workdir, symlinks=True)
    production_before = (workdir / "registry/models/breast_cancer/production.json").read_bytes()
    (workdir / "strict.yaml").write_text(STRICT_GATE)
    result = snakemake(
        workdir, "--cores", "2", "--configfile", "strict.yaml", env={"SNAKETRAIN_WEBHOOK_URL": webhook_url}
    )
    assert (workdir / "registry/models/breast_cancer/production.json").read_bytes() == production_before
    return workdir, result.stdout


def test_failed_gate_alert_reaches_the_webhook_after_a_retry(default_run, tmp_path):
    with LoopbackServer(answers=[(503, "")]) as hook:
        workdir, out = failing_gate_run(default_run, tmp_path, hook.url(HOOK_PATH))
    # only the gate and what follows it ran again
    assert "quality_gate" in executed_rules(out)
    assert executed_rules(out) <= AFTER_GATE, executed_rules(out)
    assert len(hook.requests) == 2  # 503, then delivered
    payload = hook.payloads[-1]
    assert payload["event"] == "quality_gate_failed"
    assert "NOT promoted" in payload["text"] and "f1" in payload["text"]
    assert payload == json.loads((workdir / "results/alerts/alert.json").read_text())
    log = (workdir / "logs/raise_alert/raise_alert.log").read_text()
    assert "attempt 1 of 3 failed (HTTP 503)" in log and "alert delivered" in log
    # the summary, the report pages and the report say so too
    assert "quality gate: FAILED" in out and "production is unchanged" in out
    assert "Quality gate <b>FAILED</b>" in (workdir / "results/report/gate.html").read_text()
    assert (workdir / "report.html").is_file()


def test_unreachable_webhook_is_logged_and_the_run_still_succeeds(default_run, tmp_path):
    workdir, out = failing_gate_run(default_run, tmp_path, closed_port_url(HOOK_PATH))
    log = (workdir / "logs/raise_alert/raise_alert.log").read_text()
    assert "could not deliver the alert to the webhook in SNAKETRAIN_WEBHOOK_URL: ConnectionError" in log
    assert (workdir / "results/alerts/alert.json").is_file()
    assert "snaketrain summary" in out  # the run finished successfully (snakemake() checks the exit status)


def test_failed_run_sends_a_run_failed_alert(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "strict.yaml").write_text("validation:\n  min_rows: 100000\n")
    with LoopbackServer() as hook:
        result = snakemake(
            project,
            "--cores",
            "2",
            "--configfile",
            "strict.yaml",
            env={"SNAKETRAIN_WEBHOOK_URL": hook.url(HOOK_PATH)},
            check=False,
        )
    assert result.returncode != 0
    assert len(hook.requests) == 1
    payload = hook.payloads[0]
    assert payload["event"] == "run_failed"
    assert payload["failed_rules"] == ["validate_data"]
    assert "validate_data" in payload["text"]
    assert "min_rows" in payload["failed_jobs"][0]["log_tail"]
    assert payload == json.loads((project / "logs/alerts/run_failed.json").read_text())
    # the terminal says where the alert went; its text (the stage's message again) stays in the file
    assert "snaketrain alert: run-failed alert written to logs/alerts/run_failed.json" in result.stdout
    assert ":x: snaketrain run FAILED" not in result.stdout
