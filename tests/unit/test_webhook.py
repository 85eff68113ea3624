"""Alert delivery to a real HTTP webhook on loopback: retries with backoff, 4xx, unreachable or unset webhooks."""

import logging

import pytest

from snaketrain.stages.raise_alert import build_alert
from snaketrain.webhook import deliver
from tests.http_server import LoopbackServer, closed_port_url

DECISION = {
    "passed": False,
    "model": "random_forest",
    "metric": "f1",
    "value": 0.81,
    "checks": [],
    "reasons": ["f1 0.81 misses >= 0.9"],
}
ENV = "SNAKETRAIN_TEST_WEBHOOK"
HOOK_PATH = "/hooks/snaketrain"


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


def test_5xx_answers_are_retried_with_growing_waits(tmp_path, logger, monkeypatch):
    with LoopbackServer(answers=[(503, ""), (502, "")]) as hook:
        monkeypatch.setenv(ENV, hook.url(HOOK_PATH))
        assert deliver(build_alert(DECISION), ENV, 3, logger) is True
    times = [request.time for request in hook.requests]
    assert len(times) == 3
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert 0.4 <= first_wait < 2.0
    assert second_wait >= 1.6 * first_wait  # exponential backoff: 0.5 s, then 1 s
    assert hook.payloads[0] == hook.payloads[2]  # the same alert every time
    text = log_text(tmp_path)
    assert "attempt 1 of 3 failed (HTTP 503)" in text and "attempt 2 of 3 failed (HTTP 502)" in text


def test_webhook_that_keeps_failing_is_logged_not_raised(tmp_path, logger, monkeypatch):
    with LoopbackServer(answers=[(500, ""), (500, "")]) as hook:
        monkeypatch.setenv(ENV, hook.url(HOOK_PATH))
        assert deliver(build_alert(DECISION), ENV, 2, logger) is False
    assert len(hook.requests) == 2
    assert f"could not deliver the alert to the webhook in {ENV}: HTTP 500" in log_text(tmp_path)


def test_4xx_is_not_retried(tmp_path, logger, monkeypatch):
    with LoopbackServer(answers=[(404, "")]) as hook:
        monkeypatch.setenv(ENV, hook.url(HOOK_PATH))
        assert deliver(build_alert(DECISION), ENV, 3, logger) is False
    assert len(hook.requests) == 1


def test_unreachable_webhook_is_logged_without_the_url(tmp_path, logger, monkeypatch):
    url = closed_port_url(HOOK_PATH)
    monkeypatch.setenv(ENV, url)
    assert deliver(build_alert(DECISION), ENV, 2, logger) is False
    text = log_text(tmp_path)
    assert "could not deliver the alert" in text and "ConnectionError" in text
    assert url not in text  # the URL is a secret


def test_no_webhook_configured(tmp_path, logger, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert deliver(build_alert(DECISION), ENV, 3, logger) is False
    assert "no webhook configured" in log_text(tmp_path)
