"""The service's JSON answers: Starlette Responses for most, two raw ASGI messages for a prediction's 200, and the
error bodies in MLflow's shape ({"error_code": ..., "message": ...})."""

import orjson
from starlette.responses import Response

JSON_HEADERS = ((b"content-type", b"application/json"),)


def json_response(content, status=200, headers=None):
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def send_json(send, content):
    """A 200 JSON answer sent as two ASGI messages, without building a Response (the prediction endpoints)."""
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error(status, code, message, headers=None, **extra):
    return json_response({"error_code": code, "message": message, **extra}, status, headers)


def jsonable(values):
    # orjson writes numeric numpy arrays directly; labels of other kinds (text) go through tolist
    return values if getattr(values, "dtype", None) is not None and values.dtype.kind in "biuf" else list(values)


def unavailable():
    return error(503, "MODEL_NOT_READY", "no verified model is loaded yet; see /metadata")


def input_error(problem, served):
    """422: rows that do not fit the served version's input schema (problem: an inference.InputError)."""
    return error(
        422,
        "INVALID_INPUT",
        f"the rows do not fit the input schema of version {served.version}",
        problems=problem.problems,
        expected_columns=served.loaded.input_schema["columns"],
    )


def too_many_rows(problem, max_rows):
    """413: more rows than --max-rows (problem: a scoring.TooManyRows holding the count)."""
    return error(
        413,
        "TOO_MANY_ROWS",
        f"the request holds {problem.args[0]} rows; this service takes at most {max_rows} a request "
        "(--max-rows): send them in smaller batches",
    )
