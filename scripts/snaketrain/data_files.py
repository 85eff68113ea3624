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
OTHER_DELIMITERS = (";", "\t", "|", ",")


def file_format(name, configured):
    if configured != "auto":
        return configured
    return "parquet" if str(name).lower().endswith(PARQUET_SUFFIXES) else "csv"


def parse_table(raw, fmt, delimiter=",", encoding="utf-8", where="data", stage="acquire_data"):
    """Bytes of a CSV or Parquet file -> DataFrame, with errors (raised as the given stage's) a user can act on."""
    import pandas as pd

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
    return parse_table(path.read_bytes(), file_format(path.name, fmt), delimiter, encoding, str(path), stage)
