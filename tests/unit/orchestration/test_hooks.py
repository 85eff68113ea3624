"""The workflow's hooks: the estimator check before a run, the failure summary and the run-failed alert after one."""

import json
import os
import time

import pytest

from snaketrain.orchestration.hooks import (
    build_run_failed_alert,
    check_estimators,
    estimator_problems,
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


def test_unknown_estimator_is_refused_before_the_run_with_its_message_alone(capsys):
    with pytest.raises(SystemExit) as stopped:
        check_estimators({"m": {"estimator": "forest_of_dreams"}}, ["m"], "auto")
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("[config] unknown estimator 'forest_of_dreams' for model 'm'")
    assert "Traceback" not in err and 'File "' not in err
    check_estimators({"m": {"estimator": "random_forest"}}, ["m"], "auto")


@pytest.mark.parametrize(
    "task, refused",
    [("regression", ["lr"]), ("binary", ["ols"]), ("auto", [])],  # auto: resolve_estimator decides once it is known
)
def test_a_family_without_a_form_for_the_task_is_refused_only_when_the_task_is_known(task, refused):
    models = {"lr": {"estimator": "logistic_regression"}, "ols": {"estimator": "linear_regression"}}
    problems = estimator_problems(models, list(models), task)
    assert [problem.where.split(".")[1] for problem in problems] == refused
