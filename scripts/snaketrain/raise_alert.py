"""Alerts: a failed gate (rule raise_alert) or a failed run (the onerror hook) reach people.

Each alert is a JSON file, an ERROR log line, and a POST to a webhook when one is configured: JSON with a
Slack-compatible `text` plus the full details. Delivery retries connection errors and 5xx answers with
exponential backoff; a webhook that stays unreachable is logged and never fails the pipeline.
"""

import os
import platform
import re
from pathlib import Path

from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, write_json

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


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        alert = build_alert(read_json(input.decision))
        logger.error("%s", alert["text"])
        write_json(alert, output.alert)
        deliver(alert, params.webhook_env, params.retries, logger)


# ---- a failed run (the onerror hook)

ERROR_LINE = re.compile(r"^Error in rule (\w+):")
LOG_LINE = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?$")
LOG_TAIL_LINES = 20


def failed_jobs(snakemake_log_text):
    """[{rule, log}] of each failed job named in Snakemake's own log (the log may be absent)."""
    jobs = []
    for line in snakemake_log_text.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            jobs.append({"rule": match.group(1), "log": None})
            continue
        match = LOG_LINE.match(line)
        if match and jobs and jobs[-1]["log"] is None:
            jobs[-1]["log"] = match.group(1).strip()
    return jobs


STAMPED = re.compile(r"^\d{4}-\d{2}-\d{2} [\d:,]+ (\w+) (.*)$")
EXCERPT_CHARS = 400


def error_excerpt(log_text):
    """The first ERROR record of a stage log (its continuation lines joined), or None."""
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        match = STAMPED.match(line)
        if match and match.group(1) in ("ERROR", "CRITICAL"):
            parts = [match.group(2)]
            for follow in lines[index + 1 :]:
                if STAMPED.match(follow):
                    break
                parts.append(follow.strip())
            text = " ".join(part for part in parts if part)
            return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."
    return None


def _tail(path, lines=LOG_TAIL_LINES):
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:])


def build_run_failed_alert(snakemake_log, workdir):
    """The alert for a failed run: which rules failed, the end of each one's log, where the full logs are."""
    if isinstance(snakemake_log, list | tuple):  # Snakemake passes its log file(s) as a list
        snakemake_log = snakemake_log[0] if snakemake_log else None
    text = ""
    if snakemake_log and Path(snakemake_log).is_file():
        text = Path(snakemake_log).read_text(encoding="utf-8", errors="replace")
    jobs = failed_jobs(text)
    for job in jobs:
        job["log_tail"] = _tail(Path(workdir) / job["log"]) if job["log"] else None
    rules = ", ".join(dict.fromkeys(job["rule"] for job in jobs)) or "unknown (see the Snakemake log)"
    host = platform.node()
    summary = f":x: snaketrain run FAILED on {host} in {workdir}: rule(s) {rules}."
    first_error = next((error_excerpt(job["log_tail"]) for job in jobs if job.get("log_tail")), None)
    if first_error:
        summary += f" {first_error}"
    return {
        "text": summary,
        "event": "run_failed",
        "host": host,
        "workdir": str(workdir),
        "failed_rules": list(dict.fromkeys(job["rule"] for job in jobs)),
        "failed_jobs": jobs,
        "snakemake_log": str(snakemake_log) if snakemake_log else None,
    }


def notify_run_failed(snakemake_log, webhook_env, attempts, workdir=".", out_dir="logs/alerts"):
    """Called by onerror: write the alert next to the logs and send it; never raises."""
    import logging

    from snaketrain.table_io import write_json

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        alert = build_run_failed_alert(snakemake_log, Path(workdir).resolve())
        write_json(alert, out / "run_failed.json")
        with stage_logging(out / "run_failed.log", "run_failed_alert") as logger:
            # also on the terminal, where the user watching the run looks
            console = logging.StreamHandler()
            console.setFormatter(logging.Formatter("snaketrain alert: %(message)s"))
            logger.addHandler(console)
            try:
                logger.error("%s", alert["text"])
                delivered = deliver(alert, webhook_env, attempts, logger)
            finally:
                logger.removeHandler(console)
        return delivered
    except Exception as error:  # noqa: BLE001 - an alert must never hide the run's own error
        print(f"snaketrain: could not raise the run-failed alert: {error}")
        return False
