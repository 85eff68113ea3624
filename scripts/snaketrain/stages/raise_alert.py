"""A failed quality gate reaches people: an alert file, an ERROR log line, and a POST to the webhook if one is set.

The alert is JSON with a Slack-compatible `text` plus the full details; delivery is snaketrain.webhook's (retried,
never failing the pipeline). A failed run (not a failed gate) is alerted by the onerror hook (snaketrain.orchestration.hooks).
"""

from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, write_json
from snaketrain.webhook import deliver

STAGE = "raise_alert"


def build_alert(decision):
    """The alert payload: a Slack-compatible `text` plus the full details."""
    reasons = decision["reasons"] or ["no reason recorded"]
    text = f":warning: snaketrain: model '{decision['model']}' was NOT promoted; the quality gate failed: " + "; ".join(
        reasons
    )
    return {
        "text": text,
        "event": "quality_gate_failed",
        "model": decision["model"],
        "reasons": reasons,
        "decision": decision,
    }


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        alert = build_alert(read_json(input.decision))
        logger.error("%s", alert["text"])
        write_json(alert, output.alert)
        deliver(alert, params.webhook_env, params.retries, logger)
