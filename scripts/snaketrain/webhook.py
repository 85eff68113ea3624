"""Alert delivery: POST a JSON alert to the webhook named by an environment variable, never failing the run.

Used by the raise_alert stage (a failed gate) and the run-failed hook. Connection errors and 5xx answers are
retried with exponential backoff (http_retry); a webhook that stays unreachable is logged and given up on.
The webhook URL is a secret: logs name the variable that holds it, never its value.
"""

import os

BACKOFF_S = 0.5


def post_webhook(url, payload, attempts, timeout=10, logger=None, backoff=BACKOFF_S):
    """POST payload as JSON, retrying connection errors and 5xx answers with exponential backoff.

    The waits between attempts are backoff, 2 x backoff, 4 x backoff ... seconds (at most 5).
    """
    from snaketrain.http_retry import request

    response = request("POST", url, attempts, backoff, timeout, logger=logger, what="webhook", json=payload)
    return response.status_code


def deliver(payload, webhook_env, attempts, logger):
    """Send to the webhook named by webhook_env; a delivery failure is logged, never raised."""
    url = os.environ.get(webhook_env, "").strip()
    if not url:
        logger.info("no webhook configured (%s is unset)", webhook_env)
        return False
    try:
        status = post_webhook(url, payload, attempts, logger=logger)
    except Exception as error:  # noqa: BLE001 - an unreachable webhook must not fail the run
        # name the variable, never its value: the URL is a secret
        response = getattr(error, "response", None)
        logger.error(
            "could not deliver the alert to the webhook in %s: %s; giving up (this fails nothing)",
            webhook_env,
            f"HTTP {response.status_code}" if response is not None else type(error).__name__,
        )
        return False
    logger.info("alert delivered to the webhook in %s (HTTP %s)", webhook_env, status)
    return True
