"""Acquire the dataset from its source (builtin, file, url or sql) into resources/ as Parquet."""

import os

from snaketrain.data_files import compression_of, file_format, parse_table, read_file
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import write_table

STAGE = "acquire_data"


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
    name = url.split("?")[0]
    return parse_table(raw, file_format(name, fmt), delimiter, encoding, url, STAGE, compression_of(name))


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
        return read_file(source["path"], source["format"], source["delimiter"], source["encoding"], STAGE, "data.path")
    if kind == "url":
        if not source.get("url"):
            raise StageError(STAGE, "data.source is url but data.url is not set", "set data.url", "data.url")
        return read_url(
            source["url"], source["format"], source["delimiter"], source["encoding"], source["download_retries"]
        )
    return read_sql(source["sql_url_env"], source.get("sql_query"))


def source_label(source):
    """What acquire_data reads, for messages (never the SQL URL: it may hold a password)."""
    kind = source["source"]
    if kind == "sql":
        return f"the SQL query in data.sql_query (database from ${source['sql_url_env']})"
    key = "path" if kind == "file" else kind
    return f"data.{key}: {source.get(key)}"


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, source_label(params.source)) as logger:
        logger.info("source: %s", params.source["source"])
        frame = acquire(params.source)
        frame.columns = [str(c) for c in frame.columns]
        logger.info("acquired %d rows x %d columns", *frame.shape)
        write_table(frame, output.data)
