"""Raise an alert for a failed gate: a JSON file, an ERROR log line, and a webhook POST if configured."""

import os

from stage_log import stage_logging
from table_io import read_json, write_json

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


def post_webhook(url, payload, attempts, timeout=10):
    """POST payload as JSON, retrying connection errors and 5xx answers with exponential backoff."""
    import requests
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    def transient(error):
        if isinstance(error, (requests.ConnectionError, requests.Timeout)):
            return True
        response = getattr(error, "response", None)
        return response is not None and response.status_code >= 500

    @retry(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
    )
    def post():
        response = requests.post(url, json=payload, timeout=timeout)
        response.raise_for_status()
        return response.status_code

    return post()


def deliver(payload, webhook_env, attempts, logger):
    """Send to the webhook named by webhook_env; a delivery failure is logged, never raised."""
    url = os.environ.get(webhook_env, "").strip()
    if not url:
        logger.info("no webhook configured (%s is unset)", webhook_env)
        return False
    try:
        status = post_webhook(url, payload, attempts)
    except Exception as error:  # noqa: BLE001 - an unreachable webhook must not fail the run
        # name the variable, never its value: the URL is a secret
        logger.error(
            "could not deliver the alert to the webhook in %s after %d attempts: %s",
            webhook_env,
            attempts,
            type(error).__name__,
        )
        return False
    logger.info("alert delivered to the webhook in %s (HTTP %s)", webhook_env, status)
    return True


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE) as logger:
        alert = build_alert(read_json(input.decision))
        logger.error("%s", alert["text"])
        write_json(alert, output.alert)
        deliver(alert, params.webhook_env, params.retries, logger)
