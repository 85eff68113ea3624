"""Each change to Snakemake's internals still finds what it relies on, and still does what it was measured doing.

A failure here after a Snakemake upgrade means: the internal a patch relies on moved. The patch would now leave
Snakemake alone (runs stay correct, only slower); re-check it in snaketrain/orchestration/snakemake_patches.py.
"""

import re
import subprocess
import sys
import threading
import time

import pytest

from snaketrain.orchestration import snakemake_patches
from tests.harness import ROOT


def test_the_pinned_snakemake_is_the_one_the_patches_were_checked_on():
    pinned = re.search(r"^snakemake==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert pinned == snakemake_patches.SNAKEMAKE_CHECKED, (
        f"requirements.txt pins Snakemake {pinned}, the patches were checked on "
        f"{snakemake_patches.SNAKEMAKE_CHECKED}: run these tests, re-measure (bench/README.md), then update "
        "SNAKEMAKE_CHECKED"
    )


# ---- exit-time garbage collection skipped


def test_exit_collection_is_skipped_by_freezing_at_exit():
    # atexit runs handlers last-in first-out: the one registered first sees what skip_exit_collection did
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "from snaketrain.orchestration.snakemake_patches import skip_exit_collection\n"
        "print('applied', skip_exit_collection())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["applied", "True", "frozen", "True"]


# ---- params compared without importing pandas


class _Persistence:
    """Just the param-serialising methods of Snakemake's PersistenceBase, on an object that needs no workflow."""


def _persistence_with(serialize_property):
    from snakemake.persistence import PersistenceBase

    namespace = {
        name: getattr(PersistenceBase, name) for name in ("_serialize_param_pandas", "_serialize_param_builtin")
    }
    namespace["_serialize_param"] = serialize_property
    return type("Persistence", (_Persistence,), namespace)()


def test_the_params_check_finds_snakemakes_serialisers():
    from snakemake import persistence

    base = getattr(persistence, "PersistenceBase", None)
    assert base is not None, "snakemake.persistence.PersistenceBase is gone: re-check params_check_without_pandas"
    missing = [name for name in snakemake_patches.PARAM_SERIALIZERS if not hasattr(base, name)]
    assert not missing, f"PersistenceBase lost {missing}: re-check params_check_without_pandas"


def test_params_serialise_the_same_with_the_pandas_free_check(monkeypatch):
    import pandas as pd
    from snakemake.persistence import PersistenceBase

    values = [None, 3, 0.25, "text", [1, 2], {"b": 1, "a": [2]}, (1,), pd.Series([1, 2]), pd.DataFrame({"a": [1]})]
    before = _persistence_with(PersistenceBase.__dict__["_serialize_param"])
    expected = [before._serialize_param(value) for value in values]
    monkeypatch.setattr(PersistenceBase, "_serialize_param", PersistenceBase.__dict__["_serialize_param"])
    assert snakemake_patches.params_check_without_pandas() is True
    after = _persistence_with(PersistenceBase.__dict__["_serialize_param"])
    assert [after._serialize_param(value) for value in values] == expected
    assert expected[-1] != expected[-2]  # the DataFrame and the Series were hashed by pandas, not left out


def test_params_check_imports_no_pandas():
    code = (
        "import sys\n"
        "from snakemake.persistence import PersistenceBase\n"
        "from snaketrain.orchestration.snakemake_patches import params_check_without_pandas\n"
        "assert params_check_without_pandas()\n"
        "class P: pass\n"
        "for name in ('_serialize_param', '_serialize_param_pandas', '_serialize_param_builtin'):\n"
        "    setattr(P, name, PersistenceBase.__dict__[name])\n"
        "print(P()._serialize_param({'n_estimators': 20}), 'pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["{'n_estimators':", "20}", "False"]


# ---- the scheduler's timers cancelled at the end of a run


def test_the_scheduler_still_starts_the_timers_the_patch_cancels():
    from snakemake.scheduling import job_scheduler

    marker = snakemake_patches.SCHEDULER_TIMER
    assert hasattr(job_scheduler.JobScheduler, marker), (
        f"JobScheduler.{marker} is gone: re-check cancel_scheduler_timers"
    )


def test_scheduler_timers_are_cancelled_at_the_end_of_a_run():
    from snakemake.scheduling.job_scheduler import JobScheduler

    class Scheduler:
        _open_jobs = threading.Semaphore(0)

    JobScheduler._schedule_reevalutation(Scheduler(), 60)  # Snakemake's own timer, 60 s instead of 1 s
    other = threading.Timer(60, lambda: None)
    other.start()
    started = time.monotonic()
    try:
        assert snakemake_patches.cancel_scheduler_timers() >= 1, (
            "no timer of Snakemake's scheduler was found: its function is no longer named "
            f"{snakemake_patches.SCHEDULER_TIMER}; re-check cancel_scheduler_timers"
        )
        timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t is not other]
        for timer in timers:
            timer.join(5)
        assert time.monotonic() - started < 5
        assert not any(timer.is_alive() for timer in timers)
        assert other.is_alive()  # only the scheduler's own timers
    finally:
        other.cancel()


@pytest.mark.parametrize("patch", ["skip_exit_collection", "params_check_without_pandas", "cancel_scheduler_timers"])
def test_the_snakefile_applies_every_patch(patch):
    assert f"snakemake_patches.{patch}()" in (ROOT / "workflow" / "Snakefile").read_text()


# ---- keep going with experiments


def test_keep_going_sets_the_flag_the_scheduler_reads_when_a_job_fails():
    import inspect

    from snakemake.scheduling.job_scheduler import JobScheduler

    source = inspect.getsource(JobScheduler)
    assert f"self.{snakemake_patches.KEEP_GOING} = self.workflow.execution_settings.keep_going" in source
    assert f"not self.{snakemake_patches.KEEP_GOING} and errors" in source, (
        "JobScheduler no longer stops on errors by its keepgoing flag: re-check keep_going"
    )

    class Workflow:
        class scheduler:  # noqa: N801 - stands for the JobScheduler instance
            keepgoing = False

    assert snakemake_patches.keep_going(Workflow()) is True
    assert Workflow.scheduler.keepgoing is True
    assert snakemake_patches.keep_going(object()) is False


def test_the_workflow_keeps_going_with_experiments_only():
    snakefile = (ROOT / "workflow" / "Snakefile").read_text()
    onstart = snakefile[snakefile.index("onstart:") : snakefile.index("onsuccess:")]
    assert "if EXPERIMENTS:" in onstart and "snakemake_patches.keep_going(workflow)" in onstart


# ---- errors printed once, without stack lines


def test_every_module_that_prints_errors_gets_the_patched_printer():
    code = (
        "import importlib\n"
        "from snakemake import exceptions\n"
        "from snaketrain.orchestration import snakemake_patches as p\n"
        "original = exceptions.print_exception\n"
        "holders = [n for n in p.EXCEPTION_PRINTERS if importlib.import_module(n).print_exception is original]\n"
        "print(holders == list(p.EXCEPTION_PRINTERS), p.errors_printed_once(), p.errors_printed_once())\n"
        "print(all(importlib.import_module(n).print_exception.snaketrain_patch for n in p.EXCEPTION_PRINTERS))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True", "True", "True"]


def _raised(error, wrap):
    """wrap(error) raised while error is handled, as Snakemake wraps a job's or an input function's error."""
    try:
        try:
            raise error
        except Exception as inner:
            raise wrap(inner)  # noqa: B904 - the implicit context is what Snakemake leaves
    except Exception as outer:
        return outer


def test_a_stage_error_is_its_message_alone_and_a_logged_one_is_left_to_the_summary():
    from snakemake.exceptions import RuleException

    from snaketrain.stage_log import ConfigError, StageError

    typo = ConfigError("unknown config key data.taget", "did you mean data.target?", "config key data.taget")
    assert snakemake_patches.error_text(typo, 'ConfigError in file "x", line 37:\n  File "x", line 37') == str(typo)
    in_input_function = _raised(StageError("predict", "no file to score", "set predict.input"), RuntimeError)
    assert snakemake_patches.error_text(in_input_function, "Traceback:\n  File ...") == str(
        in_input_function.__context__
    )
    logged = StageError("validate_data", "no column nope", "set data.target")
    logged.logged_to = "logs/validate_data/validate_data.log"
    assert snakemake_patches.error_text(RuleException(include=[RuleException("x")], message="y"), "y") == "y"
    assert snakemake_patches.error_text(_raised(logged, lambda e: RuleException("formatted")), "formatted") is None
    # a cluster job's own Snakemake runs without hooks: no summary follows, so the job's output holds the message
    in_a_job = snakemake_patches.error_text(
        _raised(logged, lambda e: RuleException("formatted")), "formatted", summary_follows=False
    )
    assert in_a_job == str(logged)


def test_the_run_failed_line_is_dropped_and_other_errors_lose_their_stack_lines(tmp_path):
    from snakemake.exceptions import WorkflowError

    assert snakemake_patches.error_text(WorkflowError(snakemake_patches.RUN_FAILED), "WorkflowError:\n...") is None
    missing = "MissingInputException in rule x:\nMissing input files for rule x:\n    data/a.csv"
    assert snakemake_patches.error_text(WorkflowError("m"), missing, tmp_path) == missing
    bug = _raised(KeyError("col"), lambda e: WorkflowError("in rule x"))
    formatted = 'KeyError in file "common.smk", line 3:\n\'col\'\n  File "common.smk", line 3, in f\n'
    text = snakemake_patches.error_text(bug, formatted, tmp_path)
    assert 'File "' not in text and text.startswith("KeyError in file")
    saved = next(tmp_path.glob("*.traceback.txt"))
    assert f"(the Python traceback is in {saved})" in text
    assert "Traceback (most recent call last)" in saved.read_text()
