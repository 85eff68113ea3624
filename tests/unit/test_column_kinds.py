"""What each column of a user's table is: numbers, few- and many-valued categories, dates, free text, identifiers."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.column_kinds import detect
from tests.tables import customer_table


@pytest.fixture(scope="module")
def table():
    return customer_table(n=2000)


@pytest.mark.parametrize(
    "column, kind",
    [
        ("customer_id", "identifier"),
        ("signup", "date"),
        ("zip", "many_valued"),
        ("comment", "text"),
        ("plan", "category"),
        ("usage", "numeric"),
    ],
)
def test_each_column_of_a_users_table_gets_its_kind(table, column, kind):
    assert detect(table[column]).kind == kind


def test_a_date_in_text_records_its_format_and_whether_it_has_a_time(table):
    found = detect(table["signup"])
    assert found.date_format == "%d/%m/%Y" and not found.has_time
    stamps = pd.Series(["2024-03-01 08:15:00", "2024-03-02 17:40:00", None] * 20)
    assert detect(stamps).date_format == "%Y-%m-%d %H:%M:%S" and detect(stamps).has_time


def test_datetime_values_are_dates_never_identifiers():
    values = pd.Series(pd.date_range("2024-01-01", periods=500, freq="h"))
    found = detect(values)
    assert found.kind == "date" and found.date_format == "ISO8601" and found.has_time


@pytest.mark.parametrize(
    "overrides, kind",
    [
        ({"declared": "categorical"}, "many_valued"),  # a code column written in digits, declared text
        ({"declared": "categorical", "encoding": "onehot"}, "category"),
        ({"text": True}, "text"),
        ({"date_format": False, "declared": "categorical"}, "many_valued"),
    ],
)
def test_the_users_overrides_win(overrides, kind):
    codes = pd.Series(np.random.default_rng(0).integers(10_000, 99_999, size=600) // 10 * 10)
    assert detect(codes, **overrides).kind == kind


def test_numbers_that_look_like_years_are_numbers_not_dates():
    assert detect(pd.Series([2019, 2020, 2021, 2022] * 50)).kind == "numeric"
    assert detect(pd.Series(["2019", "2020", "2021"] * 50)).kind == "category"


def test_short_unique_labels_are_identifiers_and_long_unique_text_is_text():
    assert detect(pd.Series([f"order-{i}" for i in range(300)])).kind == "identifier"
    sentences = pd.Series([f"the delivery of parcel {i} came late again" for i in range(300)])
    assert detect(sentences).kind == "text"


def test_whole_numbers_repeated_like_codes_are_integer_codes():
    rng = np.random.default_rng(0)
    zips = pd.Series(rng.choice(rng.choice(np.arange(1000, 99999), 600, replace=False), 5000))  # no leading zeros
    assert detect(zips).kind == "integer_code"
    assert "target-encoded" in detect(zips).reason
    with_gaps = zips.astype(float).where(zips.index % 10 != 0)  # missing values make them floats: still codes
    assert detect(with_gaps).kind == "integer_code"


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(np.random.default_rng(1).integers(1000, 200_000, 5000)),  # amounts: mostly one row per value
        pd.Series(np.random.default_rng(2).integers(1995, 2015, 5000)),  # years: 20 values, no more than max
        pd.Series(np.random.default_rng(3).normal(size=5000)),  # measurements
        pd.Series(np.arange(5000)),  # a row number
    ],
)
def test_amounts_years_measurements_and_row_numbers_stay_numbers(values):
    assert detect(values).kind == "numeric"


def test_a_code_declared_numeric_stays_a_number_and_an_empty_column_is_empty():
    zips = pd.Series(np.random.default_rng(0).choice(np.arange(10000, 10600), 5000))
    assert detect(zips, declared="numeric").kind == "numeric"
    assert detect(zips, declared="integer").kind == "numeric"
    assert detect(pd.Series([np.nan] * 10)).kind == "empty"
    assert detect(pd.Series([None] * 10, dtype=object)).kind == "empty"
