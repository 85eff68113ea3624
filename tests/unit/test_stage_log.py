"""The stage boundary (stage_log.stage_logging): an exception no stage foresaw leaves as a StageError."""

from types import SimpleNamespace

import pandas as pd
import pytest

from snaketrain import split_data
from snaketrain.stage_log import StageError, explain_unexpected, known_fix, stage_logging


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
