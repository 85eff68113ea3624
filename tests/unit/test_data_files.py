"""Reading data files: format by name, CSV delimiter and encoding, refused duplicate columns."""

import gzip
import io
import lzma

import pandas as pd
import pytest

from snaketrain.data_files import compression_of, file_format, parse_table, read_file
from snaketrain.stage_log import StageError
from tests.tables import COMPRESSORS, zipped


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


FRAME = pd.DataFrame({"a": [1, 2, 3], "city": ["Zürich", "Genève", "Oslo"], "target": [0, 1, 0]})


CSV = FRAME.to_csv(index=False).encode()


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_csv_files_are_read(tmp_path, suffix):
    path = tmp_path / f"data.csv.{suffix}"
    path.write_bytes(COMPRESSORS[suffix](CSV))
    pd.testing.assert_frame_equal(read_file(path), FRAME)


def test_compressed_parquet_is_read(tmp_path):
    buffer = io.BytesIO()
    FRAME.to_parquet(buffer)
    path = tmp_path / "data.parquet.gz"
    path.write_bytes(gzip.compress(buffer.getvalue()))
    assert file_format(path.name, "auto") == "parquet"
    pd.testing.assert_frame_equal(read_file(path), FRAME)


def test_compression_comes_from_the_name():
    assert compression_of("https://host/data.CSV.GZ") == "gzip"
    assert compression_of("data.csv.zst") == "zstd"
    assert compression_of("data.csv") is None


def test_a_compressed_file_with_a_plain_name_is_recognised_by_its_bytes():
    pd.testing.assert_frame_equal(parse_table(gzip.compress(CSV), "csv"), FRAME)


def test_a_plain_file_with_a_compressed_name_is_explained_not_blamed_on_the_encoding():
    with pytest.raises(StageError, match="name says it is gzip-compressed, but its content is not") as caught:
        parse_table(b"\xe9t\xe9,b\n1,2\n", "csv", compression="gzip")
    assert "encoding" not in str(caught.value)


def test_a_damaged_compressed_file_is_explained():
    with pytest.raises(StageError, match="the xz-compressed file cannot be uncompressed"):
        parse_table(lzma.compress(CSV)[:-20], "csv", compression="xz")


def test_a_zip_with_several_files_names_them():
    with pytest.raises(StageError, match="exactly one file, this one holds 2: a.csv, b.csv"):
        parse_table(zipped(CSV, ("a.csv", "b.csv")), "csv", compression="zip")


def test_text_that_merely_starts_like_a_compressed_file_is_read_as_text():
    raw = b"BZh,b\n1,2\n"
    assert list(parse_table(raw, "csv").columns) == ["BZh", "b"]


def test_codes_written_with_leading_zeros_stay_text():
    from snaketrain.data_files import parse_table

    raw = b"zip,amount,y\n02138,10,a\n10001,20,b\n00501,30,a\n"
    frame = parse_table(raw, "csv")
    assert frame["zip"].tolist() == ["02138", "10001", "00501"]
    assert frame["amount"].tolist() == [10, 20, 30]  # other numbers stay numbers
