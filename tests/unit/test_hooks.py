"""The workflow's hooks: the estimator check before a run, the failure summary and the run-failed alert after one."""

import json
import os
import time

import pytest

from snaketrain.hooks import (
    build_run_failed_alert,
    check_estimators,
    failed_jobs,
    failure_lines,
    notify_run_failed,
)
from snaketrain.stage_log import StageError, stage_logging
from tests.http_server import LoopbackServer

ENV = "SNAKETRAIN_TEST_WEBHOOK"

SNAKEMAKE_LOG = """\
[Thu Nov 26 06:00:00 2026]
rule validate_data:
    input: resources/data/breast_cancer.parquet
Error in rule validate_data:
    message: None
    jobid: 2
    input: resources/data/breast_cancer.parquet
    output: results/validation/report.json
    log: logs/validate_data/validate_data.log (check log file(s) for error details)
Shutting down, this might take some time.
"""


def test_run_failed_alert_names_failed_rules_and_their_log_tails(tmp_path, monkeypatch):
    (tmp_path / "logs/validate_data").mkdir(parents=True)
    (tmp_path / "logs/validate_data/validate_data.log").write_text(
        "2026-11-26 06:37:51,735 INFO read 569 rows x 31 columns\n"
        "2026-11-26 06:37:51,740 ERROR [validate_data] 1 data check(s) failed:\n"
        "  - min_rows: value 569, threshold 100000\n"
        "  fix: supply more rows or lower validation.min_rows\n"
        "2026-11-26 06:37:51,740 INFO validate_data took 0.03 s\n"
    )
    snakemake_log = tmp_path / "snakemake.log"
    snakemake_log.write_text(SNAKEMAKE_LOG)
    assert failed_jobs(SNAKEMAKE_LOG) == [{"rule": "validate_data", "log": "logs/validate_data/validate_data.log"}]
    alert = build_run_failed_alert(snakemake_log, tmp_path)
    assert alert["event"] == "run_failed"
    assert alert["failed_rules"] == ["validate_data"]
    assert alert["text"].endswith(
        "rule(s) validate_data. [validate_data] 1 data check(s) failed: - min_rows: value 569, threshold 100000"
        " fix: supply more rows or lower validation.min_rows"
    )
    with LoopbackServer() as hook:
        monkeypatch.setenv(ENV, hook.url("/hooks/snaketrain"))
        assert notify_run_failed(snakemake_log, ENV, 2, workdir=tmp_path, out_dir=tmp_path / "alerts") is True
    assert hook.payloads[0]["failed_jobs"][0]["log_tail"].endswith("validate_data took 0.03 s")
    assert json.loads((tmp_path / "alerts/run_failed.json").read_text()) == hook.payloads[0]


def fail_stage(logs, stage, error):
    """Run a stage body that raises error inside stage_logging, as a rule's run() does."""
    # stage_logging turns an unexpected error into a StageError naming the traceback file
    with pytest.raises(StageError), stage_logging(logs / stage / f"{stage}.log", stage):
        raise error


def test_failure_lines_explain_each_failed_stage_from_the_logs_it_wrote(tmp_path):
    logs = tmp_path / "logs"
    since = time.time() - 1
    fail_stage(
        logs,
        "validate_data",
        StageError("validate_data", "1 data check(s) failed", "lower validation.min_rows", "data.csv"),
    )
    fail_stage(logs, "train_model", ValueError("boom"))
    with stage_logging(logs / "split_data" / "split_data.log", "split_data") as logger:
        logger.info("a stage that succeeded")
    lines = failure_lines(logs, since)
    assert lines[1] == "snaketrain: the run stopped. What went wrong:"
    text = "\n".join(lines)
    assert "  [validate_data] 1 data check(s) failed\n    where: data.csv\n    fix: lower validation.min_rows" in text
    assert f"  log: {logs / 'validate_data' / 'validate_data.log'}" in text
    assert "  [train_model] unexpected ValueError" in text and ": boom" in text
    assert f"the full traceback is in {logs / 'train_model' / 'train_model.traceback.txt'}" in text
    assert "Traceback (most recent call last)" not in text
    assert "split_data" not in text
    assert lines[-1].endswith("Fix the problem, then run the same command again.")


def test_failure_lines_ignore_logs_of_earlier_runs(tmp_path):
    logs = tmp_path / "logs"
    fail_stage(logs, "validate_data", StageError("validate_data", "old problem", "old fix"))
    old = time.time() - 3600
    os.utime(logs / "validate_data" / "validate_data.log", (old, old))
    assert failure_lines(logs, since=time.time() - 60) == []


def test_run_failed_alert_without_a_snakemake_log_still_says_the_run_failed(tmp_path):
    alert = build_run_failed_alert([], tmp_path)
    assert alert["failed_rules"] == [] and "unknown (see the Snakemake log)" in alert["text"]


def test_unknown_estimator_is_refused_before_the_run():
    with pytest.raises(StageError, match="unknown estimator 'forest_of_dreams'"):
        check_estimators({"m": {"estimator": "forest_of_dreams"}}, ["m"], "auto")
    check_estimators({"m": {"estimator": "random_forest"}}, ["m"], "auto")


# ---- Snakemake's fixed costs: params compared without importing pandas, scheduler timers cancelled at the end


class _Persistence:
    """Just the param-serialising methods of Snakemake's PersistenceBase, on an object that needs no workflow."""


def _persistence_with(serialize_property):
    from snakemake.persistence import PersistenceBase

    namespace = {
        name: getattr(PersistenceBase, name) for name in ("_serialize_param_pandas", "_serialize_param_builtin")
    }
    namespace["_serialize_param"] = serialize_property
    return type("Persistence", (_Persistence,), namespace)()


def test_params_serialise_the_same_with_the_pandas_free_check(monkeypatch):
    import pandas as pd
    from snakemake.persistence import PersistenceBase

    from snaketrain.hooks import params_check_without_pandas

    values = [None, 3, 0.25, "text", [1, 2], {"b": 1, "a": [2]}, (1,), pd.Series([1, 2]), pd.DataFrame({"a": [1]})]
    before = _persistence_with(PersistenceBase.__dict__["_serialize_param"])
    expected = [before._serialize_param(value) for value in values]
    monkeypatch.setattr(PersistenceBase, "_serialize_param", PersistenceBase.__dict__["_serialize_param"])
    params_check_without_pandas()
    after = _persistence_with(PersistenceBase.__dict__["_serialize_param"])
    assert [after._serialize_param(value) for value in values] == expected
    assert expected[-1] != expected[-2]  # the DataFrame and the Series were hashed by pandas, not left out


def test_params_check_imports_no_pandas():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from snakemake.persistence import PersistenceBase\n"
        "from snaketrain.hooks import params_check_without_pandas\n"
        "params_check_without_pandas()\n"
        "class P: pass\n"
        "for name in ('_serialize_param', '_serialize_param_pandas', '_serialize_param_builtin'):\n"
        "    setattr(P, name, PersistenceBase.__dict__[name])\n"
        "print(P()._serialize_param({'n_estimators': 20}), 'pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["{'n_estimators':", "20}", "False"]


def test_scheduler_timers_are_cancelled_at_the_end_of_a_run():
    import threading

    from snakemake.scheduling.job_scheduler import JobScheduler

    from snaketrain.hooks import cancel_scheduler_timers

    class Scheduler:
        _open_jobs = threading.Semaphore(0)

    JobScheduler._schedule_reevalutation(Scheduler(), 60)  # Snakemake's own timer, 60 s instead of 1 s
    other = threading.Timer(60, lambda: None)
    other.start()
    started = time.monotonic()
    cancel_scheduler_timers()
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t is not other]
    for timer in timers:
        timer.join(5)
    assert time.monotonic() - started < 5
    assert not any(timer.is_alive() for timer in timers)
    assert other.is_alive()  # only the scheduler's own timers
    other.cancel()
