"""Alerts reach a real HTTP webhook on loopback: payload, retries with backoff, unreachable webhooks."""

import json
import logging

import pytest

from snaketrain.hooks import build_run_failed_alert, failed_jobs, notify_run_failed
from snaketrain.raise_alert import build_alert, run
from snaketrain.webhook import deliver
from tests.webhook_server import Webhook, closed_port_url

DECISION = {
    "passed": False,
    "model": "random_forest",
    "metric": "f1",
    "value": 0.81,
    "checks": [],
    "reasons": ["f1 0.81 misses >= 0.9"],
}
ENV = "SNAKETRAIN_TEST_WEBHOOK"


@pytest.fixture
def logger(tmp_path):
    log = logging.getLogger(f"test.alerts.{tmp_path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(tmp_path / "alert.log")
    log.addHandler(handler)
    yield log
    log.removeHandler(handler)
    handler.close()


def log_text(tmp_path):
    return (tmp_path / "alert.log").read_text()


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def test_failed_gate_alert_posts_slack_compatible_json_with_details(tmp_path, monkeypatch):
    decision_path = tmp_path / "decision.json"
    decision_path.write_text(json.dumps(DECISION))
    with Webhook() as hook:
        monkeypatch.setenv(ENV, hook.url)
        run(
            Job(decision=str(decision_path)),
            Job(alert=str(tmp_path / "alert.json")),
            Job(webhook_env=ENV, retries=3),
            [str(tmp_path / "raise_alert.log")],
        )
    assert len(hook.requests) == 1
    _, path, payload, content_type = hook.requests[0]
    assert path == "/hooks/snaketrain"
    assert content_type == "application/json"
    assert "random_forest" in payload["text"] and "f1 0.81 misses >= 0.9" in payload["text"]
    assert payload["event"] == "quality_gate_failed"
    assert payload["decision"] == DECISION
    assert json.loads((tmp_path / "alert.json").read_text()) == payload
    assert "alert delivered" in (tmp_path / "raise_alert.log").read_text()


def test_5xx_answers_are_retried_with_growing_waits(tmp_path, logger, monkeypatch):
    with Webhook(statuses=[503, 502]) as hook:
        monkeypatch.setenv(ENV, hook.url)
        assert deliver(build_alert(DECISION), ENV, 3, logger) is True
    times = [request[0] for request in hook.requests]
    assert len(times) == 3
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert 0.4 <= first_wait < 2.0
    assert second_wait >= 1.6 * first_wait  # exponential backoff: 0.5 s, then 1 s
    assert hook.payloads[0] == hook.payloads[2]  # the same alert every time
    text = log_text(tmp_path)
    assert "attempt 1 of 3 failed (HTTP 503)" in text and "attempt 2 of 3 failed (HTTP 502)" in text


def test_webhook_that_keeps_failing_is_logged_not_raised(tmp_path, logger, monkeypatch):
    with Webhook(statuses=[500, 500]) as hook:
        monkeypatch.setenv(ENV, hook.url)
        assert deliver(build_alert(DECISION), ENV, 2, logger) is False
    assert len(hook.requests) == 2
    assert f"could not deliver the alert to the webhook in {ENV}: HTTP 500" in log_text(tmp_path)


def test_4xx_is_not_retried(tmp_path, logger, monkeypatch):
    with Webhook(statuses=[404]) as hook:
        monkeypatch.setenv(ENV, hook.url)
        assert deliver(build_alert(DECISION), ENV, 3, logger) is False
    assert len(hook.requests) == 1


def test_unreachable_webhook_is_logged_without_the_url(tmp_path, logger, monkeypatch):
    url = closed_port_url()
    monkeypatch.setenv(ENV, url)
    assert deliver(build_alert(DECISION), ENV, 2, logger) is False
    text = log_text(tmp_path)
    assert "could not deliver the alert" in text and "ConnectionError" in text
    assert url not in text  # the URL is a secret


def test_no_webhook_configured(tmp_path, logger, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert deliver(build_alert(DECISION), ENV, 3, logger) is False
    assert "no webhook configured" in log_text(tmp_path)


SNAKEMAKE_LOG = """\
[Thu Nov 26 06:00:00 2026]
rule validate_data:
    input: resources/data/breast_cancer.parquet
Error in rule validate_data:
    message: None
    jobid: 2
    input: resources/data/breast_cancer.parquet
    output: results/validation/report.json
    log: logs/validate_data/validate_data.log (check log file(s) for error details)
Shutting down, this might take some time.
"""


def test_run_failed_alert_names_failed_rules_and_their_log_tails(tmp_path, monkeypatch):
    (tmp_path / "logs/validate_data").mkdir(parents=True)
    (tmp_path / "logs/validate_data/validate_data.log").write_text(
        "2026-11-26 06:37:51,735 INFO read 569 rows x 31 columns\n"
        "2026-11-26 06:37:51,740 ERROR [validate_data] 1 data check(s) failed:\n"
        "  - min_rows: value 569, threshold 100000\n"
        "  fix: supply more rows or lower validation.min_rows\n"
        "2026-11-26 06:37:51,740 INFO validate_data took 0.03 s\n"
    )
    snakemake_log = tmp_path / "snakemake.log"
    snakemake_log.write_text(SNAKEMAKE_LOG)
    assert failed_jobs(SNAKEMAKE_LOG) == [{"rule": "validate_data", "log": "logs/validate_data/validate_data.log"}]
    alert = build_run_failed_alert(snakemake_log, tmp_path)
    assert alert["event"] == "run_failed"
    assert alert["failed_rules"] == ["validate_data"]
    assert alert["text"].endswith(
        "rule(s) validate_data. [validate_data] 1 data check(s) failed: - min_rows: value 569, threshold 100000"
        " fix: supply more rows or lower validation.min_rows"
    )
    with Webhook() as hook:
        monkeypatch.setenv(ENV, hook.url)
        assert notify_run_failed(snakemake_log, ENV, 2, workdir=tmp_path, out_dir=tmp_path / "alerts") is True
    assert hook.payloads[0]["failed_jobs"][0]["log_tail"].endswith("validate_data took 0.03 s")
    assert json.loads((tmp_path / "alerts/run_failed.json").read_text()) == hook.payloads[0]
