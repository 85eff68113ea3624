"""Users' table files (CSV or Parquet, as bytes or on disk) read into DataFrames, with errors a user can act on.

Shared by acquire_data (the training data) and predict (the rows to score); each passes its stage name, so
that a problem is reported as that stage's.
"""

import csv
import io
from pathlib import Path

from snaketrain.stage_log import StageError

PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
# compression by file name suffix (the names pandas infers), and each format's first bytes: a compressed file
# is recognised by its bytes even when its name does not say so, so it is never taken for badly encoded text
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
COMPRESSION_MAGIC = {
    "gzip": b"\x1f\x8b",
    "bz2": b"BZh",
    "zip": b"PK\x03\x04",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}
OTHER_DELIMITERS = (";", "\t", "|", ",")


def compression_of(name):
    """The compression a file name declares (data.csv.gz -> gzip), or None."""
    return COMPRESSIONS.get(Path(str(name).lower()).suffix)


def _uncompressed_name(name):
    name = str(name).lower()
    return name[: -len(Path(name).suffix)] if compression_of(name) else name


def file_format(name, configured):
    if configured != "auto":
        return configured
    return "parquet" if _uncompressed_name(name).endswith(PARQUET_SUFFIXES) else "csv"


def _decompress(raw, compression):
    import bz2
    import gzip
    import lzma
    import zipfile

    if compression == "gzip":
        return gzip.decompress(raw)
    if compression == "bz2":
        return bz2.decompress(raw)
    if compression == "xz":
        return lzma.decompress(raw)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:5]) or "none"
            raise ValueError(f"a zip archive must hold exactly one file, this one holds {len(members)}: {names}")
        return archive.read(members[0])


def decompressed(raw, compression=None, where="data", stage="acquire_data"):
    """The bytes of a possibly compressed file, uncompressed; compression as named, or recognised by its bytes."""
    found = next((kind for kind, magic in COMPRESSION_MAGIC.items() if raw.startswith(magic)), None)
    if compression and found != compression:
        raise StageError(
            stage,
            f"the file's name says it is {compression}-compressed, but its content is "
            f"{f'{found}-compressed' if found else 'not'}",
            "check that the file was downloaded or exported completely, or rename it to match its content",
            where,
        )
    if not found:
        return raw
    try:
        return _decompress(raw, found)
    except Exception as error:  # noqa: BLE001 - each format raises its own types for a damaged file
        if not compression:
            return raw  # only its first bytes looked compressed (a CSV header starting "BZh"): read it as it is
        raise StageError(
            stage,
            f"the {found}-compressed file cannot be uncompressed ({type(error).__name__}: {str(error)[:200]})",
            "check that the file was downloaded or exported completely, or export it again",
            where,
        ) from None


def parse_table(raw, fmt, delimiter=",", encoding="utf-8", where="data", stage="acquire_data", compression=None):
    """Bytes of a CSV or Parquet file -> DataFrame, with errors (raised as the given stage's) a user can act on.

    compression: what the file name declares (compression_of); a compressed file is also recognised by its bytes.
    """
    import pandas as pd

    raw = decompressed(raw, compression, where, stage)
    if not raw.strip():
        raise StageError(stage, "the data file is empty", "point data.path at a file with a header and rows", where)
    if fmt == "parquet":
        if not raw.startswith(PARQUET_MAGIC):
            raise StageError(
                stage,
                "the file is named or declared Parquet but is not a Parquet file",
                "set data.format: csv if it is CSV, or convert it to Parquet",
                where,
            )
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as error:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise StageError(
                stage,
                f"the Parquet file cannot be read ({type(error).__name__}: {str(error).splitlines()[0][:200]})",
                "check that the file was written completely, or export it again",
                where,
            ) from None
        return _with_rows(frame, where, stage)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise StageError(
            stage,
            f"the file is not valid {encoding} text (byte {error.start}: {raw[error.start : error.start + 1]!r})",
            "set data.encoding to the file's encoding (for example latin-1), or re-save it as UTF-8",
            where,
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.EmptyDataError:
        raise StageError(
            stage, "the data file has no columns", "check that the file holds a CSV table", where
        ) from None
    except pd.errors.ParserError as error:
        raise StageError(
            stage, f"the CSV file cannot be parsed: {error}", "check data.delimiter and quoting", where
        ) from None
    # pandas renames a repeated column "a" to "a.1"; read the header ourselves to catch it
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    repeated = sorted({name.strip() for name in header if header.count(name) > 1})
    if repeated:
        raise StageError(
            stage,
            f"duplicate column names: {', '.join(repeated)}",
            "give every column a distinct name in the header",
            where,
        )
    frame = _digit_codes_as_text(frame, text, delimiter)
    if frame.shape[1] == 1:
        # one column: usually the file uses another delimiter than data.delimiter
        found = [d for d in OTHER_DELIMITERS if d != delimiter and d in str(frame.columns[0])]
        if found:
            shown = {"\t": "\\t"}.get(found[0], found[0])
            raise StageError(
                stage,
                f"the whole header is one column ({str(frame.columns[0])[:80]!r}): the file seems to be "
                f"delimited by '{shown}', not '{delimiter}'",
                f'set data.delimiter: "{shown}"',
                where,
            )
    return _with_rows(frame, where, stage)


# rows of a CSV looked at for codes written with leading zeros: a zip-code column shows them in its first rows
CODE_SAMPLE_ROWS = 1000
_LEADING_ZERO = r"^0\d+$"


def _digit_codes_as_text(frame, text, delimiter):
    """Columns read as numbers whose text has leading zeros ("02138"): codes, kept as text, never scaled as
    magnitudes (validation.dtypes: {<column>: categorical} declares any other code column)."""
    import pandas as pd

    numeric = [
        c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not numeric:
        return frame
    sample = pd.read_csv(io.StringIO(text), sep=delimiter, usecols=numeric, dtype=str, nrows=CODE_SAMPLE_ROWS)
    codes = [c for c in numeric if sample[c].str.match(_LEADING_ZERO).any()]
    if not codes:
        return frame
    as_text = pd.read_csv(io.StringIO(text), sep=delimiter, usecols=codes, dtype=str, keep_default_na=True)
    frame = frame.copy()
    for column in codes:
        frame[column] = as_text[column].astype(object).where(as_text[column].notna(), None)
    return frame


def _with_rows(frame, where, stage):
    if frame.empty:
        raise StageError(
            stage,
            f"the data file has a header ({len(frame.columns)} columns) but no rows",
            "supply a file with data rows below the header",
            where,
        )
    return frame


def read_file(
    path, fmt="auto", delimiter=",", encoding="utf-8", stage="acquire_data", key="data.path", what="data file"
):
    """A CSV or Parquet file on disk -> DataFrame; a missing file is explained naming the config key."""
    path = Path(path)
    if not path.is_file():
        raise StageError(stage, f"{what} '{path}' does not exist", f"set {key} to an existing CSV or Parquet file", key)
    raw = path.read_bytes()
    return parse_table(
        raw, file_format(path.name, fmt), delimiter, encoding, str(path), stage, compression_of(path.name)
    )


def predict_input_path(configured, options=""):
    """predict.input, or a StageError saying how to set it (options: the user's --configfile options, repeated in
    the fix's command)."""
    if not configured:
        own = f"{options} " if options else ""
        raise StageError(
            "predict",
            "no file to score",
            f"set predict.input in the config, e.g. snakemake --cores 4 predict {own}--config predict='{{input: new.csv}}'",
            "config key predict.input",
        )
    return configured
