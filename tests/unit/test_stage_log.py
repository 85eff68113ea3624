"""How a stage reports: its log file, the StageError format, and the one reader of that format (first_error)."""

from types import SimpleNamespace

import pandas as pd
import pytest

from snaketrain.stage_log import ConfigError, StageError, explain_unexpected, first_error, known_fix, stage_logging
from snaketrain.stages import split_data


def failing_log(tmp_path, error, before=None):
    """The log a stage writes when error leaves it (after logging `before`, as the stage would)."""
    path = tmp_path / "stage" / "stage.log"
    # an unexpected error leaves as a StageError (explained, its traceback in a file of its own)
    expected = type(error) if isinstance(error, StageError) else StageError
    with pytest.raises(expected), stage_logging(path, "validate_data") as logger:
        if before:
            before(logger)
        raise error
    return path.read_text()


def test_a_stage_error_names_stage_problem_where_and_fix():
    error = StageError("split_data", "too few rows", "lower split.test_size", "data.csv")
    assert str(error) == "[split_data] too few rows\n  where: data.csv\n  fix: lower split.test_size"
    assert str(ConfigError("bad key", "remove it")) == "[config] bad key\n  fix: remove it"


def test_first_error_reads_what_stage_logging_writes(tmp_path):
    error = StageError("validate_data", "2 data check(s) failed:\n  - min_rows: value 8", "supply more rows", "d.csv")
    text = failing_log(tmp_path, error, before=lambda logger: logger.info("read 8 rows"))
    assert first_error(text) == [
        "[validate_data] 2 data check(s) failed:",
        "  - min_rows: value 8",
        "  where: d.csv",
        "  fix: supply more rows",
    ]
    assert "Traceback" not in text  # a problem in the user's data needs no Python traceback
    assert "validate_data took" in text.splitlines()[-1]


def test_an_unexpected_error_is_explained_and_its_traceback_kept_in_a_file(tmp_path):
    text = failing_log(tmp_path, ZeroDivisionError("division by zero"))
    block = first_error(text)
    assert block[0] == "[validate_data] unexpected ZeroDivisionError in tests: division by zero"
    assert any("the full traceback is in" in line and line.strip().endswith("stage.traceback.txt") for line in block)
    assert "Traceback" not in text  # the log is shown on the terminal: the traceback goes to its own file
    traceback = (tmp_path / "stage" / "stage.traceback.txt").read_text()
    assert "Traceback" in traceback and "ZeroDivisionError: division by zero" in traceback


def test_errors_that_are_not_why_the_stage_failed_are_ignored(tmp_path):
    def undelivered(logger):
        logger.error("could not deliver the alert to the webhook in X: HTTP 500; giving up (this fails nothing)")

    text = failing_log(tmp_path, StageError("validate_data", "the real problem", "the fix"), before=undelivered)
    assert first_error(text) == ["[validate_data] the real problem", "  fix: the fix"]
    path = tmp_path / "ok.log"
    with stage_logging(path, "raise_alert") as logger:
        undelivered(logger)
    assert first_error(path.read_text()) is None


def test_each_job_logs_to_its_own_file_only(tmp_path):
    with stage_logging(tmp_path / "a.log", "a") as first, stage_logging(tmp_path / "b.log", "b") as second:
        first.info("to a")
        second.info("to b")
    assert "to a" in (tmp_path / "a.log").read_text() and "to b" not in (tmp_path / "a.log").read_text()
    assert "to b" in (tmp_path / "b.log").read_text() and "to a" not in (tmp_path / "b.log").read_text()


def test_an_unexpected_library_error_becomes_the_stages_explanation(tmp_path):
    log = tmp_path / "logs" / "x.log"
    with pytest.raises(StageError) as caught, stage_logging(log, "x", ["in/a.parquet", "in/b.json"]):
        pd.DataFrame({"a": [1]}).astype({"a": "datetime64[ns, nowhere]"})
    error = caught.value
    assert error.stage == "x"
    assert str(error).startswith("[x] unexpected ")
    assert " in pandas: " in str(error)
    assert error.where == "in/a.parquet, in/b.json"
    traceback_file = tmp_path / "logs" / "x.traceback.txt"
    assert f"the full traceback is in {traceback_file}" in str(error)
    assert "Traceback (most recent call last)" in traceback_file.read_text()
    text = log.read_text()
    # logged exactly as a StageError is: ERROR [stage] problem, then indented where/fix lines
    assert f" ERROR {error}\n" in text
    assert "Traceback" not in text
    assert error.__suppress_context__


def test_a_stage_error_passes_unchanged_and_leaves_no_traceback_file(tmp_path):
    original = StageError("x", "bad data", "fix it", "data.path")
    with pytest.raises(StageError) as caught, stage_logging(tmp_path / "x.log", "x"):
        raise original
    assert caught.value is original
    assert not (tmp_path / "x.traceback.txt").exists()


def test_a_stale_traceback_file_goes_when_the_job_runs_again(tmp_path):
    (tmp_path / "x.traceback.txt").write_text("old")
    with stage_logging(tmp_path / "x.log", "x"):
        pass
    assert not (tmp_path / "x.traceback.txt").exists()


def test_known_library_errors_come_with_their_fix():
    assert "validation.infinite" in known_fix("Input X contains infinity or a value too large for dtype('float64').")
    assert "tuning.cv" in known_fix("n_splits=5 cannot be greater than the number of members in each class.")
    assert "report it" in known_fix("something nobody has seen")


def test_the_librarys_message_is_one_line():
    error = ValueError("first line\n   second   line")
    message = str(explain_unexpected("x", error, "logs/x.traceback.txt"))
    assert message.splitlines()[0] == "[x] unexpected ValueError: first line second line"


def test_a_stage_run_converts_a_failure_of_its_core(tmp_path, monkeypatch):
    def broken_split(*args, **kwargs):
        raise KeyError("column vanished")

    data, report = tmp_path / "data.parquet", tmp_path / "report.json"
    pd.DataFrame({"a": range(10), "t": [0, 1] * 5}).to_parquet(data)
    report.write_text('{"target": "t", "task": "binary"}')
    monkeypatch.setattr(split_data, "split", broken_split)
    output = SimpleNamespace(train=str(tmp_path / "train.parquet"), test=str(tmp_path / "test.parquet"))
    inputs = [str(data), str(report)]
    with pytest.raises(StageError) as caught:
        split_data.run(
            _Named(inputs, data=str(data), report=str(report)),
            output,
            SimpleNamespace(split={"test_size": 0.2, "seed": 1, "stratify": True}),
            [str(tmp_path / "split.log")],
        )
    assert str(caught.value).startswith("[split_data] unexpected KeyError")
    assert ": 'column vanished'\n" in str(caught.value)
    assert not (tmp_path / "train.parquet").exists()
    assert caught.value.where == ", ".join(inputs)


class _Named(list):
    """Like Snakemake's named input list: iterable, and each file also an attribute."""

    def __init__(self, items, **named):
        super().__init__(items)
        self.__dict__.update(named)
