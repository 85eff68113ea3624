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
