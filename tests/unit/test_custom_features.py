"""The user's own feature code: loaded from the project by name, checked, applied row by row; a changed file refused."""

import pandas as pd
import pytest

from snaketrain import custom_features
from snaketrain.stage_log import StageError

CODE = (
    "def add(df):\n    df['ratio'] = df['a'] / df['b']\n    return df\n\n\ndef drop_rows(df):\n    return df.head(1)\n"
)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "mine.py").write_text(CODE)
    return tmp_path


def test_the_function_is_applied_row_by_row(project):
    function = custom_features.load_function("features/mine.py", "add", project)
    rows = pd.DataFrame({"a": [1.0, 4.0], "b": [2.0, 8.0]}, index=[7, 9])
    out = custom_features.apply(function, rows)
    assert out["ratio"].tolist() == [0.5, 0.5] and list(out.index) == [7, 9]
    assert "ratio" not in rows  # the caller's rows are left as they were


@pytest.mark.parametrize(
    "file, function, message",
    [
        ("features/none.py", "add", "does not exist"),
        ("features/mine.py", "nope", "has no function 'nope'.*add, drop_rows"),
    ],
)
def test_a_missing_file_or_function_is_explained(project, file, function, message):
    with pytest.raises(StageError, match=f"(?s){message}"):
        custom_features.load_function(file, function, project)


def test_a_function_that_drops_rows_is_refused(project):
    function = custom_features.load_function("features/mine.py", "drop_rows", project)
    with pytest.raises(StageError, match="returned a DataFrame of 1 rows for 2 rows"):
        custom_features.apply(function, pd.DataFrame({"a": [1, 2], "b": [1, 2]}))


def test_a_changed_file_is_refused_with_both_checksums(project):
    recorded = {
        "file": "features/mine.py",
        "function": "add",
        "sha256": custom_features.file_sha256(project / "features/mine.py"),
    }
    assert custom_features.check_unchanged(recorded, project, version="v1") is not None
    (project / "features" / "mine.py").write_text(CODE + "# changed\n")
    with pytest.raises(StageError, match="version v1 was trained with another version of features/mine.py"):
        custom_features.check_unchanged(recorded, project, version="v1")
