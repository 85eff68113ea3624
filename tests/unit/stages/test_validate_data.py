"""The validate_data stage: task inference and the data checks, each with value, threshold and verdict."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.stages.summarize_run import validation_page
from snaketrain.stages.validate_data import infer_task, run_checks, similar_values, validate
from tests.tables import labelled_frame

RULES = {"min_rows": 10, "max_missing_fraction": 0.5, "min_rows_per_class": 3, "duplicates": "warn", "dtypes": {}}


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
    report = validate(labelled_frame(), "label", "auto", RULES)
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
    df = labelled_frame(n=8)
    df.loc[:6, "x1"] = np.nan
    with pytest.raises(StageError) as error:
        validate(df, "label", "auto", {**RULES, "sparse_columns": "fail"})
    message = str(error.value)
    assert "[validate_data]" in message
    assert "min_rows: value 8, threshold 10" in message
    assert "max_missing_fraction column 'x1': value 0.875, threshold 0.5" in message
    assert "fix:" in message


def sparse_frame(n=60):
    df = labelled_frame(n=n)
    df.loc[: int(n * 0.7), "x1"] = np.nan  # sparse: about 70 % missing
    df["never"] = np.nan  # entirely missing
    df.loc[: n // 4, "label"] = None  # a quarter of the rows without a target
    return df


def test_sparse_columns_warn_by_default_naming_column_and_share():
    report = validate(sparse_frame(), "label", "auto", RULES)
    assert report["passed"]
    (sparse,) = [c for c in report["checks"] if c["check"] == "max_missing_fraction" and c["verdict"] != "pass"]
    assert sparse["column"] == "x1" and sparse["verdict"] == "warn" and sparse["value"] > 0.5
    assert "sparse:" in sparse["detail"] and "kept" in sparse["detail"]


def test_an_entirely_missing_column_is_named_and_left_out():
    report = validate(sparse_frame(), "label", "auto", RULES)
    (empty,) = [c for c in report["checks"] if c["check"] == "empty_column"]
    assert empty["column"] == "never" and empty["verdict"] == "warn" and "left out" in empty["detail"]
    assert report["kinds"]["never"]["kind"] == "empty"


def test_sparse_columns_fail_when_configured():
    with pytest.raises(StageError) as error:
        validate(sparse_frame(), "label", "auto", {**RULES, "sparse_columns": "fail"})
    assert "max_missing_fraction column 'x1'" in str(error.value)
    assert "empty_column column 'never'" in str(error.value)
    report = validate(sparse_frame(), "label", "auto", {**RULES, "sparse_columns": "ignore"})
    assert not [c for c in report["checks"] if c["check"] == "max_missing_fraction" and c["verdict"] != "pass"]


def test_min_rows_counts_rows_with_a_target_and_the_target_is_not_a_sparse_feature():
    df = sparse_frame(n=60)  # rows 0..15 have no target: 44 left
    report = validate(df, "label", "auto", {**RULES, "min_rows": 44})
    (min_rows,) = [c for c in report["checks"] if c["check"] == "min_rows"]
    assert min_rows["value"] == 44 and "44 of 60" in min_rows["detail"]
    assert report["rows"] == 60 and report["rows_without_target"] == 16
    (missing,) = [c for c in report["checks"] if c["check"] == "target_missing"]
    assert missing["value"] == 16 and missing["verdict"] == "warn" and "left out" in missing["detail"]
    assert not [c for c in report["checks"] if c["check"] == "max_missing_fraction" and c["column"] == "label"]
    with pytest.raises(StageError, match="min_rows: value 44, threshold 45"):
        validate(df, "label", "auto", {**RULES, "min_rows": 45})
    assert "<b>16</b> row(s) without a target" in validation_page(report)


@pytest.mark.parametrize(
    ("labels", "named"), [([0] * 12 + [1] * 2, "class 1 has 2 rows"), (["a"] * 12 + ["b"] * 2, "class 'b' has 2 rows")]
)
def test_the_rare_class_is_named_as_the_user_wrote_it(labels, named):
    df = pd.DataFrame({"x": range(len(labels)), "label": labels})
    with pytest.raises(StageError) as error:
        validate(df, "label", "auto", RULES)
    assert named in str(error.value)
    assert "np." not in str(error.value)


def test_missing_target_suggests_close_columns():
    with pytest.raises(StageError, match="closest columns: label"):
        validate(labelled_frame(), "labels", "auto", RULES)


def test_duplicates_warn_or_fail_as_configured():
    df = pd.concat([labelled_frame(), labelled_frame().head(3)], ignore_index=True)
    report = validate(df, "label", "auto", RULES)
    assert [c["verdict"] for c in report["checks"] if c["check"] == "duplicate_rows"] == ["warn"]
    with pytest.raises(StageError, match="duplicate_rows: value 3"):
        validate(df, "label", "auto", {**RULES, "duplicates": "fail"})


def test_declared_dtypes_are_checked():
    checks = run_checks(labelled_frame(), "label", "binary", {**RULES, "dtypes": {"x1": "numeric", "city": "numeric"}})
    verdicts = {c["column"]: c["verdict"] for c in checks if c["check"] == "dtype"}
    assert verdicts == {"x1": "pass", "city": "fail"}


# rules lenient enough for the six-row table below
SMALL_TABLE_RULES = {
    "min_rows": 2,
    "max_missing_fraction": 0.5,
    "min_rows_per_class": 1,
    "duplicates": "ignore",
    "dtypes": {},
}


def data():
    return pd.DataFrame(
        {
            "x": [1.0, np.inf, 3.0, -np.inf, 5.0, 6.0],
            "island": ["Biscoe", "biscoe ", "Dream", "Dream", "Dream", "Biscoe"],
            "target": ["Adelie", "Adelie ", "Gentoo", "Gentoo", "Adelie", "Gentoo"],
        }
    )


def test_infinite_values_fail_by_default_naming_column_and_rows():
    with pytest.raises(StageError) as caught:
        validate(data(), "target", "auto", SMALL_TABLE_RULES)
    message = str(caught.value)
    assert "infinite_values column 'x': value 2, threshold 0" in message
    assert "at row index 1, 3" in message
    assert "validation.infinite: missing" in caught.value.fix


def test_infinite_values_can_count_as_missing_and_are_in_the_report_and_its_page():
    report = validate(data(), "target", "auto", {**SMALL_TABLE_RULES, "infinite": "missing"})
    check = next(c for c in report["checks"] if c["check"] == "infinite_values")
    assert (check["column"], check["value"], check["verdict"]) == ("x", 2, "warn")
    assert "treated as missing" in check["detail"]
    page = validation_page(report)
    assert "infinite_values" in page
    assert "similar_values" in page


def test_similar_values_are_grouped():
    series = pd.Series(["Adelie", "Adelie ", " adelie", "Gentoo", None, "Chinstrap"])
    assert similar_values(series) == [[" adelie", "Adelie", "Adelie "]]


def test_similar_labels_warn_by_default_for_target_and_categorical_columns():
    report = validate(data(), "target", "auto", {**SMALL_TABLE_RULES, "infinite": "missing"})
    similar = {c["column"]: c for c in report["checks"] if c["check"] == "similar_values"}
    assert similar["target"]["verdict"] == "warn"
    assert "'Adelie' and 'Adelie '" in similar["target"]["detail"]
    assert "'Biscoe' and 'biscoe '" in similar["island"]["detail"]


def test_similar_labels_can_fail():
    with pytest.raises(StageError, match="similar_values column 'target'"):
        validate(data(), "target", "auto", {**SMALL_TABLE_RULES, "infinite": "missing", "similar_values": "fail"})


def test_similar_labels_can_be_ignored():
    report = validate(
        data(), "target", "auto", {**SMALL_TABLE_RULES, "infinite": "missing", "similar_values": "ignore"}
    )
    assert not [c for c in report["checks"] if c["check"] == "similar_values"]


def test_numbers_whose_square_overflows_fail_validation():
    df = pd.DataFrame({"x": [1.0, 2e200, 3.0, 4.0], "target": [0.5, 1.5, 2.5, 1.7e308]})
    with pytest.raises(StageError) as caught:
        validate(df, "target", "auto", SMALL_TABLE_RULES)
    assert "huge_values column 'x': value 1" in str(caught.value)
    assert "huge_values column 'target': value 1" in str(caught.value)
    assert "(largest 1.7e+308) at row index 3" in str(caught.value)
