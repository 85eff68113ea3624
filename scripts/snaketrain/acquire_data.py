"""Acquire the dataset from its source (builtin, file, url or sql) into resources/ as Parquet."""

import csv
import io
import os
from pathlib import Path

from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import write_table

STAGE = "acquire_data"
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
OTHER_DELIMITERS = (";", "\t", "|", ",")


def load_builtin(name):
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
        "diabetes": datasets.load_diabetes,
    }
    frame = loaders[name](as_frame=True).frame
    return frame.reset_index(drop=True)


def file_format(name, configured):
    if configured != "auto":
        return configured
    return "parquet" if str(name).lower().endswith(PARQUET_SUFFIXES) else "csv"


def parse_table(raw, fmt, delimiter=",", encoding="utf-8", where="data"):
    """Bytes of a CSV or Parquet file -> DataFrame, with errors a user can act on."""
    import pandas as pd

    if not raw.strip():
        raise StageError(STAGE, "the data file is empty", "point data.path at a file with a header and rows", where)
    if fmt == "parquet":
        if not raw.startswith(PARQUET_MAGIC):
            raise StageError(
                STAGE,
                "the file is named or declared Parquet but is not a Parquet file",
                "set data.format: csv if it is CSV, or convert it to Parquet",
                where,
            )
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as error:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise StageError(
                STAGE,
                f"the Parquet file cannot be read ({type(error).__name__}: {str(error).splitlines()[0][:200]})",
                "check that the file was written completely, or export it again",
                where,
            ) from None
        return _with_rows(frame, where)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise StageError(
            STAGE,
            f"the file is not valid {encoding} text (byte {error.start}: {raw[error.start : error.start + 1]!r})",
            "set data.encoding to the file's encoding (for example latin-1), or re-save it as UTF-8",
            where,
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.EmptyDataError:
        raise StageError(
            STAGE, "the data file has no columns", "check that the file holds a CSV table", where
        ) from None
    except pd.errors.ParserError as error:
        raise StageError(
            STAGE, f"the CSV file cannot be parsed: {error}", "check data.delimiter and quoting", where
        ) from None
    # pandas renames a repeated column "a" to "a.1"; read the header ourselves to catch it
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    repeated = sorted({name.strip() for name in header if header.count(name) > 1})
    if repeated:
        raise StageError(
            STAGE,
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
                STAGE,
                f"the whole header is one column ({str(frame.columns[0])[:80]!r}): the file seems to be "
                f"delimited by '{shown}', not '{delimiter}'",
                f'set data.delimiter: "{shown}"',
                where,
            )
    return _with_rows(frame, where)


def _with_rows(frame, where):
    if frame.empty:
        raise StageError(
            STAGE,
            f"the data file has a header ({len(frame.columns)} columns) but no rows",
            "supply a file with data rows below the header",
            where,
        )
    return frame


def read_file(path, fmt, delimiter, encoding):
    path = Path(path)
    if not path.is_file():
        raise StageError(
            STAGE, f"data file '{path}' does not exist", "set data.path to an existing CSV or Parquet file", "data.path"
        )
    return parse_table(path.read_bytes(), file_format(path.name, fmt), delimiter, encoding, where=str(path))


def download(url, attempts):
    """GET url, retrying connection errors and 5xx answers with exponential backoff."""
    import requests

    from snaketrain.http_retry import request

    try:
        return request("GET", url, attempts, backoff=0.2, timeout=30, what="download").content
    except requests.HTTPError as error:
        code = error.response.status_code
        raise StageError(STAGE, f"the server answered HTTP {code} for the data URL", "check data.url", url) from None
    except requests.RequestException as error:
        raise StageError(
            STAGE,
            f"could not reach the data URL after {attempts} attempts ({type(error).__name__})",
            "check the address and the network, or raise data.download_retries",
            url,
        ) from None


def read_url(url, fmt, delimiter, encoding, attempts):
    raw = download(url, attempts)
    return parse_table(raw, file_format(url.split("?")[0], fmt), delimiter, encoding, where=url)


def read_sql(url_env, query):
    import pandas as pd
    import sqlalchemy

    url = os.environ.get(url_env)
    if not url:
        raise StageError(
            STAGE,
            f"the environment variable {url_env} that should hold the database URL is not set",
            f"export {url_env}=<SQLAlchemy URL>, for example sqlite:///data.db",
            "data.sql_url_env",
        )
    if not query:
        raise StageError(
            STAGE, "no SQL query is configured", "set data.sql_query to a SELECT statement", "data.sql_query"
        )
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql_query(sqlalchemy.text(query), connection)
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError) as error:
        # pandas wraps the SQLAlchemy error; report the driver's message, never the URL (it may hold a password)
        cause = error.__cause__ if isinstance(error.__cause__, sqlalchemy.exc.SQLAlchemyError) else error
        detail = str(getattr(cause, "orig", None) or type(cause).__name__).splitlines()[0]
        raise StageError(
            STAGE, f"the SQL query failed: {detail}", "check data.sql_query against the database", "data.sql_query"
        ) from None
    finally:
        engine.dispose()


def acquire(source):
    """Load the dataset described by the data config section."""
    kind = source["source"]
    if kind == "builtin":
        return load_builtin(source["builtin"])
    if kind == "file":
        if not source.get("path"):
            raise StageError(STAGE, "data.source is file but data.path is not set", "set data.path", "data.path")
        return read_file(source["path"], source["format"], source["delimiter"], source["encoding"])
    if kind == "url":
        if not source.get("url"):
            raise StageError(STAGE, "data.source is url but data.url is not set", "set data.url", "data.url")
        return read_url(
            source["url"], source["format"], source["delimiter"], source["encoding"], source["download_retries"]
        )
    return read_sql(source["sql_url_env"], source.get("sql_query"))


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE) as logger:
        logger.info("source: %s", params.source["source"])
        frame = acquire(params.source)
        frame.columns = [str(c) for c in frame.columns]
        logger.info("acquired %d rows x %d columns", *frame.shape)
        write_table(frame, output.data)
