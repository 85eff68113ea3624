"""Every change snaketrain makes to Snakemake's private internals, in one place, each for a measured speed gain or
(errors_printed_once) for a terminal that shows each error once, without Python stack lines.

Checked on Snakemake 9.27.1 (SNAKEMAKE_CHECKED). Each patch returns True when it was applied and False when the
internal it relies on is not there, in which case Snakemake is left exactly as it is: a run never fails because
of a patch. tests/unit/orchestration/test_snakemake_patches.py fails, naming the internal, when an upgrade
changes what a patch relies on; re-check the patch (and its gain, bench/README.md) before raising the pin.
"""

import atexit
import gc
import importlib
import re
import sys
import threading
import time
import traceback
from pathlib import Path

SNAKEMAKE_CHECKED = "9.27.1"

# what each patch relies on, named so that the tests can check it is still there
PARAM_SERIALIZERS = ("_serialize_param", "_serialize_param_pandas", "_serialize_param_builtin")
SCHEDULER_TIMER = "_schedule_reevalutation"  # sic: Snakemake's spelling
KEEP_GOING = "keepgoing"  # JobScheduler's copy of --keep-going
# the modules that import snakemake.exceptions.print_exception by name, each printing errors with it
EXCEPTION_PRINTERS = (
    "snakemake.exceptions",
    "snakemake.api",
    "snakemake.cli",
    "snakemake.executors.local",
    "snakemake.executors.touch",
    "snakemake.scheduling.job_scheduler",
)
# what Workflow.execute raises after the onerror hook, when a job failed
RUN_FAILED = "At least one job did not complete successfully."
# a stack line of Snakemake's formatted errors, and the header of an input function's
STACK_LINE = re.compile(r'^\s*File ".*", line \d+')
# where a Python traceback that reached Snakemake goes (one not caught at a stage boundary: stage_logging writes its
# own next to the job's log)
UNEXPECTED_DIR = "logs/unexpected"


def skip_exit_collection():
    """At exit, CPython's finalization runs full garbage collections over every object the run imported
    (Snakemake, pandas, scikit-learn: 0.5-1.8 s per snakemake call, bench/README.md); frozen objects are
    skipped. Objects are still freed; only the exit-time collection of reference cycles is left out, which
    Python does not promise anyway. Relies on no Snakemake internal."""
    atexit.register(gc.freeze)
    return True


def params_check_without_pandas():
    """Snakemake imports pandas to compare every job's params with the last run's whenever pandas is installed,
    in case a param is a DataFrame: 0.2 s of a 0.9 s no-op rerun. A param can only be a pandas object once
    pandas is imported, so compare with pandas only then. Same strings either way.
    Relies on: snakemake.persistence.PersistenceBase and its three _serialize_param* members."""
    from snakemake import persistence

    base = getattr(persistence, "PersistenceBase", None)
    if base is None or not all(hasattr(base, name) for name in PARAM_SERIALIZERS):
        return False

    def serializer(persistence):
        if "pandas" in sys.modules:
            return persistence._serialize_param_pandas
        return persistence._serialize_param_builtin

    base._serialize_param = property(serializer)
    return True


def cancel_scheduler_timers():
    """Snakemake's scheduler starts a 1 s threading.Timer to look at the jobs again at every scheduling round;
    those timers are not daemon threads, so the process waits for the last one before it exits: up to 1 s after
    every run that did work (0.9 s measured, bench/README.md). When the run is over (onsuccess, onerror) nothing
    is left to look at, so cancel them. Returns how many it cancelled.
    Relies on: the timers' function being JobScheduler._schedule_reevalutation's inner function."""
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and SCHEDULER_TIMER in getattr(function, "__qualname__", ""):
            thread.cancel()
            cancelled += 1
    return cancelled


def keep_going(workflow):
    """With experiments, a failed job stops only what depends on it, as `--keep-going` does: the other experiments
    finish, register and deploy. Not in the profile because with one config nothing after a failed job can finish,
    and going on would only spend (cluster) time on jobs whose results no gate reads. Called from onstart: the
    scheduler exists then and has copied the setting, and scheduling has not begun.
    Relies on: workflow.scheduler (a JobScheduler) and its keepgoing flag, read when a job fails."""
    scheduler = getattr(workflow, "scheduler", None)
    if scheduler is None or not hasattr(scheduler, KEEP_GOING):
        return False
    setattr(scheduler, KEEP_GOING, True)
    return True


def stage_error_in(error, seen=None):
    """The StageError that caused error (itself, the error an input function or job raised, a RuleException's
    included errors, the chain of causes), or None."""
    from snaketrain.stage_log import StageError

    seen = set() if seen is None else seen
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, StageError):
        return error
    linked = [error.__cause__, error.__context__, *getattr(error, "_include", ()), *error.args]
    for other in linked:
        if isinstance(other, BaseException):
            found = stage_error_in(other, seen)
            if found is not None:
                return found
    return None


def without_stack_lines(text):
    """Snakemake's formatted error without its stack lines ('  File "...", line N, in f', 'Traceback:')."""
    lines = [line for line in text.splitlines() if not STACK_LINE.match(line) and line.strip() != "Traceback:"]
    return "\n".join(lines).rstrip()


def save_traceback(error, folder=UNEXPECTED_DIR):
    """The error's full Python traceback in a file of its own under folder; returns its path (None if unwritable)."""
    path = Path(folder) / f"{time.strftime('%Y%m%dT%H%M%S')}-{type(error).__name__}.traceback.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
    except OSError:
        return None
    return path


def error_text(error, formatted, folder=UNEXPECTED_DIR, summary_follows=True):
    """What the terminal shows for an error Snakemake is about to print (formatted: Snakemake's text); None: nothing.

    - A stage's error logged by its job: nothing now; the onerror summary prints it once, with the log's path. In a
      process whose hooks are off (a cluster job's own Snakemake, run with --no-hooks: summary_follows False) no
      summary follows, so its message is printed there, once, in the job's output.
    - Any other StageError (the config check, an input function): its message (what, where, fix) alone.
    - "At least one job did not complete successfully.": nothing; the failed jobs were explained above it.
    - Anything else: Snakemake's text without stack lines; a Python traceback goes to a file the text names.
    """
    stage = stage_error_in(error)
    if stage is not None:
        return None if getattr(stage, "logged_to", None) and summary_follows else str(stage)
    if type(error).__name__ == "WorkflowError" and str(error).strip() == RUN_FAILED:
        return None
    text = without_stack_lines(formatted)
    if text != formatted.rstrip() or "Traceback (most recent call last)" in formatted:
        if "Traceback (most recent call last)" in text:
            text = f"{type(error).__name__}: {error}"
        saved = save_traceback(error, folder)
        if saved is not None:
            text += f"\n  (the Python traceback is in {saved})"
    return text


def errors_printed_once():
    """Every error reaches the terminal once, without Python stack lines: Snakemake prints a failed job's exception
    with its stack (`File ".../rules/data.smk", line 47, in __rule_validate_data`), a config error with the line of
    common.smk that raised it, an input function's error with `Traceback:` and its frames, and ends a failed run with
    `WorkflowError: At least one job did not complete successfully.`; the stage's log and the onerror summary
    already say the same. See error_text for what is printed instead.
    Relies on: snakemake.exceptions.print_exception(ex, linemaps) and format_exception_to_string(ex, linemaps),
    imported by name in each of EXCEPTION_PRINTERS."""
    from snakemake import exceptions

    original = getattr(exceptions, "print_exception", None)
    formatter = getattr(exceptions, "format_exception_to_string", None)
    if original is None or formatter is None:
        return False
    if getattr(original, "snaketrain_patch", False):
        return True

    def print_exception(ex, linemaps=None):
        if isinstance(ex, KeyboardInterrupt):
            return original(ex, linemaps)
        from snakemake.logging import logger

        exceptions.log_verbose_traceback(ex)
        text = error_text(ex, formatter(ex, linemaps), summary_follows="--no-hooks" not in sys.argv)
        if text:
            logger.error(text, extra=dict(event=exceptions.LogEvent.ERROR, exception=ex.__class__.__name__))

    print_exception.snaketrain_patch = True
    for name in EXCEPTION_PRINTERS:
        module = importlib.import_module(name)
        if getattr(module, "print_exception", None) is original:
            module.print_exception = print_exception
    return True
