"""The workflow's hooks (onstart, onerror): checks before anything runs, and
what a failed run leaves behind: each failed stage's explanation on the terminal, and the run-failed alert.

The Snakefile calls these with plain values (config parts, paths, the start time), so they can be unit tested.
The end-of-run summary is terminal_summary; the changes to Snakemake's internals are snakemake_patches.
"""

import logging
import platform
import re
import sys
from pathlib import Path

from snaketrain.stage_log import StageError, first_error, stage_logging
from snaketrain.table_io import write_json
from snaketrain.webhook import deliver

# ---- onstart


def estimator_problems(estimators, models, task):
    """The config error of each model that cannot train (imports the estimators' libraries: real runs only).
    With task auto a model passes when either form is fine; resolve_estimator checks it once the task is known."""
    from snaketrain.estimators import check_spec

    problems = []
    for name in models:
        tasks = ["regression"] if task == "regression" else ["binary"] + (["regression"] if task == "auto" else [])
        errors = []
        for each in tasks:
            try:
                check_spec(name, estimators[name], each)
                break
            except StageError as error:
                errors.append(error)
        else:
            problems.append(errors[0])
    return problems


def check_estimators(estimators, models, task):
    """onstart: stop the run before any job when a model cannot train, with each problem's message (what, where,
    fix) and no Python stack lines, which would only bury it."""
    problems = estimator_problems(estimators, models, task)
    if problems:
        print("\n".join(str(problem) for problem in problems), file=sys.stderr)
        raise SystemExit(1)


# ---- onerror: the failure summary


def failure_lines(logs_dir, since):
    """The last lines of a failed run: each stage's explanation, read back from the logs written since `since`."""
    found = []
    # logs/<rule>/<job>.log, or with experiments logs/<experiment or _shared/folder>/<rule>/<job>.log
    for path in sorted(Path(logs_dir).rglob("*.log")):
        if path.stat().st_mtime < since:
            continue
        block = first_error(path.read_text(encoding="utf-8", errors="replace"))
        if not block:
            continue
        if block[0].endswith("failed unexpectedly"):
            block = [*block, f"  (the Python traceback is in {path})"]
        found.append((path, block))
    if not found:
        return []
    lines = ["", "snaketrain: the run stopped. What went wrong:"]
    for path, block in found:
        lines.extend(f"  {line}" for line in block)
        lines.append(f"  log: {path}")
    lines.append(
        "Steps that finished are kept and will not run again; production changes only when "
        "deploy_model finishes. Fix the problem, then run the same command again."
    )
    return lines


def print_failure(logs_dir, since):
    lines = failure_lines(logs_dir, since)
    if lines:
        print("\n".join(lines))


# ---- onerror: the run-failed alert

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


EXCERPT_CHARS = 400


def error_excerpt(log_text):
    """The stage's error (first_error's lines joined into one), shortened for a chat message; or None."""
    block = first_error(log_text)
    if not block:
        return None
    text = " ".join(line.strip() for line in block if line.strip())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."


def _tail(path, lines=LOG_TAIL_LINES):
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:])


def build_run_failed_alert(snakemake_log, workdir, failed_experiments=()):
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
    excerpt = next((error_excerpt(job["log_tail"]) for job in jobs if job.get("log_tail")), None)
    if failed_experiments:
        summary += f" Experiments that did not finish: {', '.join(name for name, _ in failed_experiments)}."
    if excerpt:
        summary += f" {excerpt}"
    experiments = {"failed_experiments": [{"experiment": n, "status": s} for n, s in failed_experiments]}
    return {
        **(experiments if failed_experiments else {}),
        "text": summary,
        "event": "run_failed",
        "host": host,
        "workdir": str(workdir),
        "failed_rules": list(dict.fromkeys(job["rule"] for job in jobs)),
        "failed_jobs": jobs,
        "snakemake_log": str(snakemake_log) if snakemake_log else None,
    }


def notify_run_failed(snakemake_log, webhook_env, attempts, workdir=".", out_dir="logs/alerts", failed_experiments=()):
    """Called by onerror: write the alert next to the logs and send it; never raises."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        alert = build_run_failed_alert(snakemake_log, Path(workdir).resolve(), failed_experiments)
        write_json(alert, out / "run_failed.json")
        with stage_logging(out / "run_failed.log", "run_failed_alert") as logger:
            # the alert's text is in its log only: the terminal has just shown each failed stage's message
            logger.error("%s", alert["text"])
            # where it went, on the terminal, where the user watching the run looks
            console = logging.StreamHandler()
            console.setFormatter(logging.Formatter("snaketrain alert: %(message)s"))
            logger.addHandler(console)
            try:
                logger.info("run-failed alert written to %s", out / "run_failed.json")
                delivered = deliver(alert, webhook_env, attempts, logger)
            finally:
                logger.removeHandler(console)
        return delivered
    except Exception as error:  # noqa: BLE001 - an alert must never hide the run's own error
        print(f"snaketrain: could not raise the run-failed alert: {error}")
        return False
