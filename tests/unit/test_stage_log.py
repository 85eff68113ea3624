"""How a stage reports: its log file, the StageError format, and the one reader of that format (first_error)."""

import pytest

from snaketrain.stage_log import ConfigError, StageError, first_error, stage_logging


def failing_log(tmp_path, error, before=None):
    """The log a stage writes when error leaves it (after logging `before`, as the stage would)."""
    path = tmp_path / "stage" / "stage.log"
    with pytest.raises(type(error)), stage_logging(path, "validate_data") as logger:
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


def test_an_unexpected_error_is_logged_with_its_traceback(tmp_path):
    text = failing_log(tmp_path, ZeroDivisionError("division by zero"))
    assert first_error(text) == ["validate_data failed unexpectedly"]
    assert "Traceback" in text and "ZeroDivisionError: division by zero" in text


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
