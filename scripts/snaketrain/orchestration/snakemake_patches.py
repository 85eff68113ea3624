"""Every change snaketrain makes to Snakemake's private internals, in one place, each for a measured speed gain.

Checked on Snakemake 9.27.1 (SNAKEMAKE_CHECKED). Each patch returns True when it was applied and False when the
internal it relies on is not there, in which case Snakemake is left exactly as it is: a run never fails because
of a patch. tests/unit/orchestration/test_snakemake_patches.py fails, naming the internal, when an upgrade
changes what a patch relies on; re-check the patch (and its gain, bench/README.md) before raising the pin.
"""

import atexit
import gc
import sys
import threading

SNAKEMAKE_CHECKED = "9.27.1"

# what each patch relies on, named so that the tests can check it is still there
PARAM_SERIALIZERS = ("_serialize_param", "_serialize_param_pandas", "_serialize_param_builtin")
SCHEDULER_TIMER = "_schedule_reevalutation"  # sic: Snakemake's spelling
KEEP_GOING = "keepgoing"  # JobScheduler's copy of --keep-going


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
