"""Reading data files: format by name, CSV delimiter and encoding, refused duplicate columns."""

import pytest

from snaketrain.data_files import file_format, parse_table
from snaketrain.stage_log import StageError


def test_csv_with_other_delimiter_and_encoding_is_parsed():
    raw = "a;b;ville\n1;2;Zürich\n3;4;Genève\n".encode("latin-1")
    df = parse_table(raw, "csv", delimiter=";", encoding="latin-1")
    assert list(df.columns) == ["a", "b", "ville"]
    assert df["ville"].tolist() == ["Zürich", "Genève"]


def test_format_is_chosen_by_name_unless_configured():
    assert file_format("data.PARQUET", "auto") == "parquet"
    assert file_format("data.csv", "auto") == "csv"
    assert file_format("data.bin", "parquet") == "parquet"


def test_duplicate_column_names_are_refused():
    with pytest.raises(StageError, match="duplicate column names: a"):
        parse_table(b"a,b,a\n1,2,3\n", "csv")
