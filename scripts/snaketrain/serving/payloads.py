"""Request bodies read into rows: MLflow's JSON payloads, /predict's records and CSV tables.

Each reader gives (feeds, make_frame): the fast path's feeds when the version is served by the fast path (plan not
None) and every value is of the kind its column takes, else None; and a function giving the rows as a DataFrame,
which the caller builds only when the feeds are None (the rows then go through inference.check_input).
"""

import io

import orjson

from snaketrain.serving import feeds as fast_feeds

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")


class BadRequest(Exception):
    """A body the service cannot read (malformed JSON or CSV, an unknown payload shape): 400."""


async def read_body(receive):
    """The whole request body (the Guard's receive already bounds its size and how slowly it comes)."""
    from starlette.requests import ClientDisconnect

    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def json_payload(receive):
    try:
        return orjson.loads(await read_body(receive))
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None


def media_type(content_type):
    """(media type, charset) of a Content-Type header's bytes; UTF-8 when it names no charset."""
    if content_type == b"application/json":  # the common case, without parsing
        return "application/json", "utf-8"
    content_type = content_type.decode("latin-1")
    media, *params = [part.strip() for part in content_type.split(";")]
    charset = dict(param.partition("=")[::2] for param in params if param).get("charset", "utf-8")
    return media.lower(), charset.lower()


def positional_columns(loaded):
    """The column order of rows given as bare lists: the training table's (what an MLflow signature records)."""
    fitted = list(getattr(loaded.preprocessor, "feature_names_in_", []))
    expected = list(loaded.input_schema["columns"])
    return fitted if sorted(fitted) == sorted(expected) else expected


def mlflow_table(payload, plan, positional):
    """(feeds or None, make_frame) for an MLflow JSON payload: exactly one of MLFLOW_KEYS."""
    keys = [key for key in MLFLOW_KEYS if key in payload] if isinstance(payload, dict) else []
    if len(keys) != 1:
        raise BadRequest(f"the body must be a JSON object with exactly one of the keys {', '.join(MLFLOW_KEYS)}")
    data = payload[keys[0]]
    if keys[0] == "dataframe_split":
        return _split_table(data, plan)
    if keys[0] == "dataframe_records":
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            raise BadRequest("dataframe_records must be a list of records (objects of column: value)")
        return _records_feeds(plan, data), lambda: _frame(data)
    return _rows_or_columns(data, plan, positional)


def records_table(payload, plan):
    """(feeds or None, make_frame) for /predict's body: a list of records, or {"records": [...]}."""
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise BadRequest('the body must be a list of records, or {"records": [...]}, each an object of column: value')
    return _records_feeds(plan, records), lambda: _frame(records)


def read_csv(body):
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise BadRequest(f"the body is not a readable CSV table ({type(error).__name__})") from None


def _split_table(data, plan):
    """MLflow's `dataframe_split`: {"columns": [...], "data": [[...], ...]}."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise BadRequest("dataframe_split must be an object with 'columns' and 'data' (a list of rows)")
    columns = data.get("columns")
    if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
        raise BadRequest("dataframe_split.columns must be a list of column names")
    return _rows_feeds(plan, columns, data["data"]), lambda: _frame(data["data"], columns)


def _rows_or_columns(data, plan, columns):
    """MLflow's `inputs` / `instances`: records, {column: values}, or rows of values in the order of columns."""
    if isinstance(data, dict):
        return None, lambda: _frame(data)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return _records_feeds(plan, data), lambda: _frame(data)
    if isinstance(data, list) and all(isinstance(row, list) for row in data):
        if any(len(row) != len(columns) for row in data):
            raise BadRequest(f"each row must hold {len(columns)} values, one per input column: {', '.join(columns)}")
        return _rows_feeds(plan, columns, data), lambda: _frame(data, columns)
    raise BadRequest("inputs/instances must be a list of records, a list of rows or an object of columns")


def _rows_feeds(plan, columns, rows):
    return fast_feeds.rows_feeds(plan, columns, rows) if plan is not None else None


def _records_feeds(plan, records):
    return fast_feeds.records_feeds(plan, records) if plan is not None else None


def _frame(data, columns=None):
    import pandas as pd

    try:
        return pd.DataFrame(data, columns=columns)
    except (ValueError, TypeError) as error:
        raise BadRequest(f"the rows do not form a table ({error})") from None
