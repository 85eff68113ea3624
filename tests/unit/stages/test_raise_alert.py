"""The raise_alert stage: a failed gate becomes an alert file, an ERROR log line and a POST to the webhook."""

import json

from snaketrain.stages.quality_gate import decide, threshold_checks
from snaketrain.stages.raise_alert import build_alert, run
from tests.http_server import LoopbackServer

DECISION = {
    "passed": False,
    "model": "random_forest",
    "metric": "f1",
    "value": 0.81,
    "checks": [],
    "reasons": ["f1 0.81 misses >= 0.9"],
}
ENV = "SNAKETRAIN_TEST_WEBHOOK"
BEST = {"best_model": "rf", "metric": "f1", "metrics": {"accuracy": 0.95, "f1": 0.94}, "task": "binary"}


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def test_failed_gate_alert_posts_slack_compatible_json_with_details(tmp_path, monkeypatch):
    decision_path = tmp_path / "decision.json"
    decision_path.write_text(json.dumps(DECISION))
    with LoopbackServer() as hook:
        monkeypatch.setenv(ENV, hook.url("/hooks/snaketrain"))
        run(
            Job(decision=str(decision_path)),
            Job(alert=str(tmp_path / "alert.json")),
            Job(webhook_env=ENV, retries=3),
            [str(tmp_path / "raise_alert.log")],
        )
    assert len(hook.requests) == 1
    request = hook.requests[0]
    payload = request.json()
    assert request.method == "POST"
    assert request.path == "/hooks/snaketrain"
    assert request.headers["Content-Type"] == "application/json"
    assert "random_forest" in payload["text"] and "f1 0.81 misses >= 0.9" in payload["text"]
    assert payload["event"] == "quality_gate_failed"
    assert payload["decision"] == DECISION
    assert json.loads((tmp_path / "alert.json").read_text()) == payload
    assert "alert delivered" in (tmp_path / "raise_alert.log").read_text()


def test_alert_has_slack_text_and_details():
    decision = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.99}))
    alert = build_alert(decision)
    assert "NOT promoted" in alert["text"] and "f1 0.94 misses >= 0.99" in alert["text"]
    assert alert["decision"] == decision
    json.dumps(alert)
