"""bench/real_tables_check.py's plain script and README table, without running the pipeline."""

import numpy as np
import pandas as pd
import pytest

check = pytest.importorskip("real_tables_check")  # bench/ is on pytest's pythonpath


def test_plain_frames_categories_dates_and_wide_text():
    train = pd.DataFrame(
        {
            "city": ["a", "b", "a", None],
            "day": ["2020-01-31", "2021-02-01", "2020-03-15", "2022-12-01"],
            "wide": [f"t{i}" for i in range(4)],
            "flag": [True, False, True, False],
            "amount": [1.5, 2.0, 3.0, 4.0],
        }
    )
    test = pd.DataFrame(
        {
            "city": ["c", "b"],
            "day": ["2023-05-06", None],
            "wide": ["t0", "x"],
            "flag": [True, True],
            "amount": [9.0, 1.0],
        }
    )
    original = check.MAX_CATEGORIES
    check.MAX_CATEGORIES = 3
    try:
        X_train, X_test, how = check.plain_frames(train, test)
    finally:
        check.MAX_CATEGORIES = original
    assert how["city"] == "category" and how["day"].startswith("date") and how["wide"].startswith("dropped")
    assert "wide" not in X_train and list(X_train["day_year"]) == [2020, 2021, 2020, 2022]
    assert X_test["day_month"].iloc[0] == 5 and np.isnan(X_test["day_month"].iloc[1])
    assert isinstance(X_test["city"].dtype, pd.CategoricalDtype)
    assert pd.isna(X_test["city"].iloc[0]) and X_test["city"].iloc[1] == "b"  # unseen category: missing
    assert list(X_train["flag"]) == [1.0, 0.0, 1.0, 0.0]


def test_scores_per_task():
    y = np.array(["no", "yes", "no", "yes"])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert check.score("binary", y, scores, ["no", "yes"], "yes") == 1.0
    assert check.score("binary", y, scores, ["no", "yes"], "no") == 1.0
    assert check.score("regression", np.array([1.0, 3.0]), np.array([2.0, 2.0]), None, None) == 1.0


def test_readme_table_goes_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- real-tables-check -->\nold\n<!-- /real-tables-check -->\nafter\n")
    check.write_readme("| new |\n", readme)
    assert readme.read_text() == "before\n<!-- real-tables-check -->\n| new |\n<!-- /real-tables-check -->\nafter\n"
