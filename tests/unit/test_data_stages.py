"""Unit tests of the data stages' pure functions: acquire, validate, split."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.acquire_data import acquire
from snaketrain.data_files import file_format, parse_table
from snaketrain.split_data import split
from snaketrain.stage_log import StageError
from snaketrain.validate_data import infer_task, run_checks, validate

RULES = {"min_rows": 10, "max_missing_fraction": 0.5, "min_rows_per_class": 3, "duplicates": "warn", "dtypes": {}}


def frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 100, size=n),
            "city": rng.choice(["paris", "oslo", "rome"], size=n),
            "label": np.tile(["yes", "no"], n // 2),
        }
    )


@pytest.mark.parametrize("name, rows, classes", [("breast_cancer", 569, 2), ("iris", 150, 3), ("wine", 178, 3)])
def test_builtin_datasets_have_a_target_column(name, rows, classes):
    df = acquire({"source": "builtin", "builtin": name})
    assert len(df) == rows
    assert df["target"].nunique() == classes


def test_builtin_diabetes_is_regression():
    df = acquire({"source": "builtin", "builtin": "diabetes"})
    assert infer_task(df["target"]) == "regression"


def test_csv_with_other_delimiter_and_encoding_is_parsed():
    raw = "a;b;ville\n1;2;Zürich\n3;4;Genève\n".encode("latin-1")
    df = parse_table(raw, "csv", delimiter=";", encoding="latin-1")
    assert list(df.columns) == ["a", "b", "ville"]
    assert df["ville"].tolist() == ["Zürich", "Genève"]


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "d.parquet"
    frame().to_parquet(path)
    df = acquire({"source": "file", "path": str(path), "format": "auto", "delimiter": ",", "encoding": "utf-8"})
    pd.testing.assert_frame_equal(df, frame())


def test_format_is_chosen_by_name_unless_configured():
    assert file_format("data.PARQUET", "auto") == "parquet"
    assert file_format("data.csv", "auto") == "csv"
    assert file_format("data.bin", "parquet") == "parquet"


def test_missing_file_names_the_key(tmp_path):
    with pytest.raises(StageError, match="does not exist") as error:
        acquire(
            {
                "source": "file",
                "path": str(tmp_path / "nope.csv"),
                "format": "auto",
                "delimiter": ",",
                "encoding": "utf-8",
            }
        )
    assert "data.path" in str(error.value)


def test_duplicate_column_names_are_refused():
    with pytest.raises(StageError, match="duplicate column names: a"):
        parse_table(b"a,b,a\n1,2,3\n", "csv")


@pytest.mark.parametrize(
    "values, task",
    [
        ([0, 1, 0, 1], "binary"),
        ([0, 1, 2, 1], "multiclass"),
        (["a", "b", "c"], "multiclass"),
        ([0.5, 1.2, 3.3], "regression"),
        (list(range(50)), "regression"),
    ],
)
def test_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values)) == task


def test_validation_report_lists_every_check_with_value_and_threshold():
    report = validate(frame(), "label", "auto", RULES)
    assert report["passed"] and report["task"] == "binary"
    names = {c["check"] for c in report["checks"]}
    assert {
        "target_present",
        "min_rows",
        "max_missing_fraction",
        "target_not_constant",
        "min_rows_per_class",
        "duplicate_rows",
    } <= names
    assert all({"value", "threshold", "verdict"} <= set(c) for c in report["checks"])


def test_validation_fails_with_every_failed_check_listed():
    df = frame(n=8)
    df.loc[:6, "x1"] = np.nan
    with pytest.raises(StageError) as error:
        validate(df, "label", "auto", RULES)
    message = str(error.value)
    assert "[validate_data]" in message
    assert "min_rows: value 8, threshold 10" in message
    assert "max_missing_fraction column 'x1': value 0.875, threshold 0.5" in message
    assert "fix:" in message


def test_missing_target_suggests_close_columns():
    with pytest.raises(StageError, match="closest columns: label"):
        validate(frame(), "labels", "auto", RULES)


def test_duplicates_warn_or_fail_as_configured():
    df = pd.concat([frame(), frame().head(3)], ignore_index=True)
    report = validate(df, "label", "auto", RULES)
    assert [c["verdict"] for c in report["checks"] if c["check"] == "duplicate_rows"] == ["warn"]
    with pytest.raises(StageError, match="duplicate_rows: value 3"):
        validate(df, "label", "auto", {**RULES, "duplicates": "fail"})


def test_declared_dtypes_are_checked():
    checks = run_checks(frame(), "label", "binary", {**RULES, "dtypes": {"x1": "numeric", "city": "numeric"}})
    verdicts = {c["column"]: c["verdict"] for c in checks if c["check"] == "dtype"}
    assert verdicts == {"x1": "pass", "city": "fail"}


def test_split_is_stratified_and_seeded():
    df = frame(n=100)
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) == 80 and len(test) == 20
    assert test["label"].value_counts().to_dict() == {"yes": 10, "no": 10}
    again, _ = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    pd.testing.assert_frame_equal(train, again)


def test_split_drops_rows_without_target():
    df = frame(n=100)
    df.loc[:9, "label"] = None
    train, test = split(df, "label", "binary", test_size=0.2, seed=1, stratify=True)
    assert len(train) + len(test) == 90
