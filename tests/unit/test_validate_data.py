"""Validation checks added for issue 14: infinite numbers, and text values that differ only by spaces or case."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.summarize_run import validation_page
from snaketrain.validate_data import similar_values, validate

RULES = {"min_rows": 2, "max_missing_fraction": 0.5, "min_rows_per_class": 1, "duplicates": "ignore", "dtypes": {}}


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
        validate(data(), "target", "auto", RULES)
    message = str(caught.value)
    assert "infinite_values column 'x': value 2, threshold 0" in message
    assert "at row index 1, 3" in message
    assert "validation.infinite: missing" in caught.value.fix


def test_infinite_values_can_count_as_missing_and_are_in_the_report_and_its_page():
    report = validate(data(), "target", "auto", {**RULES, "infinite": "missing"})
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
    report = validate(data(), "target", "auto", {**RULES, "infinite": "missing"})
    similar = {c["column"]: c for c in report["checks"] if c["check"] == "similar_values"}
    assert similar["target"]["verdict"] == "warn"
    assert "'Adelie' and 'Adelie '" in similar["target"]["detail"]
    assert "'Biscoe' and 'biscoe '" in similar["island"]["detail"]


def test_similar_labels_can_fail():
    with pytest.raises(StageError, match="similar_values column 'target'"):
        validate(data(), "target", "auto", {**RULES, "infinite": "missing", "similar_values": "fail"})


def test_similar_labels_can_be_ignored():
    report = validate(data(), "target", "auto", {**RULES, "infinite": "missing", "similar_values": "ignore"})
    assert not [c for c in report["checks"] if c["check"] == "similar_values"]


def test_numbers_whose_square_overflows_fail_validation():
    df = pd.DataFrame({"x": [1.0, 2e200, 3.0, 4.0], "target": [0.5, 1.5, 2.5, 1.7e308]})
    with pytest.raises(StageError) as caught:
        validate(df, "target", "auto", RULES)
    assert "huge_values column 'x': value 1" in str(caught.value)
    assert "huge_values column 'target': value 1" in str(caught.value)
    assert "(largest 1.7e+308) at row index 3" in str(caught.value)
