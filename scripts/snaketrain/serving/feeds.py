"""Feeds: the ONNX graphs' inputs, built from a request's raw JSON values (rows_feeds, records_feeds) or from a
DataFrame that passed check_input (frame_feeds), following an InputPlan (serving.plan)."""

import numpy as np

from snaketrain.serving.plan import FREE_TEXT, OTHER

# JSON values the fast path takes as numbers (None is a missing value, imputed as in training); bool is not int here
NUMBER_TYPES = frozenset({int, float, type(None)})


def rows_feeds(plan, columns, rows):
    """The feeds for rows (lists of JSON values in the order of columns), or None whenever check_input must look
    at them (a missing column, ragged rows, a value that is not a number/null in a numeric column or text/null in a
    text one, a date only pandas can read). It accepts only what check_input accepts, so a None costs time, never a
    different answer."""
    if not rows:
        return None
    try:
        where = {column: position for position, column in enumerate(columns)}
        width = len(columns)
        if any(len(row) != width for row in rows):
            return None
        matrix = _number_matrix(plan, where, rows)
        if matrix is None:
            return None
        feeds = numeric_feeds(plan, matrix)
        if plan.text:
            text = _text_feeds(plan, where, rows)
            if text is None:
                return None
            feeds.update(text)
        if plan.free_text:
            words = _free_text_features(plan, where, rows)
            if words is None:
                return None
            feeds[FREE_TEXT] = words
    except (TypeError, KeyError):
        return None
    return feeds


def records_feeds(plan, records):
    """rows_feeds for records (a list of {column: value})."""
    columns = plan.columns
    try:
        rows = [[record[column] for column in columns] for record in records]
    except (KeyError, TypeError):
        return None
    return rows_feeds(plan, columns, rows)


def _number_matrix(plan, where, rows):
    """The float64 matrix of the numeric columns, then the date features; None when a value is not a number/null
    or a date needs pandas."""
    positions = [where[name] for name in plan.numeric]
    flat = [row[position] for row in rows for position in positions]
    if not set(map(type, flat)) <= NUMBER_TYPES:
        return None
    matrix = np.array(flat, dtype=np.float64).reshape(len(rows), len(positions))
    if not plan.dates:
        return matrix
    parts = [_date_features(plan.dates, [row[where[column.name]] for column in plan.dates]) for row in rows]
    if None in parts:
        return None
    return np.hstack([matrix, np.array(parts, dtype=np.float64)])


def _date_features(dates, values):
    """One row's calendar features of every date column, or None when one of them needs pandas."""
    row = []
    for column, value in zip(dates, values, strict=True):
        features = column.features(value)
        if features is None:
            return None
        row += features
    return row


def _text_feeds(plan, where, rows):
    """{graph input: (rows, 1) strings} of the text columns, or None when a value is not text/null."""
    feeds = {}
    for column, name in zip(plan.text, plan.text_inputs, strict=True):
        position = where[column.name]
        values = [column.feed(row[position]) for row in rows]
        if None in values:
            return None
        feeds[name] = np.array(values, dtype=object).reshape(-1, 1)
    return feeds


def _free_text_features(plan, where, rows):
    """The TF-IDF matrix of each free-text column, or None when a value is not text/null."""
    texts = [[column.text(row[where[column.name]]) for row in rows] for column in plan.free_text]
    if any(None in values for values in texts):
        return None
    return [column.matrix(values) for column, values in zip(plan.free_text, texts, strict=True)]


def numeric_feeds(plan, matrix):
    """One (rows, 1) float64 input per numeric column and date feature, missing values filled as the imputers
    learnt; the indicators and code encodings of the values as they came."""
    missing = np.isnan(matrix)
    indicators = {name: missing[:, index : index + 1].astype(np.float64) for name, index in plan.indicators}
    for column in plan.codes:
        encoded = column.features(matrix[:, column.position])
        indicators.update({name: encoded[:, k : k + 1].copy() for k, name in enumerate(column.inputs)})
    if missing.any():
        matrix = np.where(missing, plan.fill, matrix)
    # each column contiguous, so ONNX Runtime reads it without a copy
    feeds = {
        name: np.ascontiguousarray(matrix[:, index : index + 1])
        for index, name in enumerate(plan.inputs[: len(plan.fill)])
    }
    return feeds | indicators


def frame_feeds(plan, frame):
    """The feeds for a DataFrame that passed check_input (numeric columns as numbers), with the preprocessor's
    own functions for text (as_text, filled_text) and dates (calendar_features)."""
    from snaketrain.preprocessing import as_text, filled_text

    blocks = [frame[name].to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1) for name in plan.numeric]
    if plan.dates:
        blocks.append(_frame_date_features(plan, frame))
    feeds = numeric_feeds(plan, np.hstack(blocks)) if blocks else {}
    names = [column.name for column in (*plan.text, *plan.free_text)]
    texts = as_text(frame[names], names) if names else None
    for column, name in zip(plan.text, plan.text_inputs, strict=True):
        values = [column.fill if value != value else column.lookup.get(value, OTHER) for value in texts[column.name]]
        feeds[name] = np.array(values, dtype=object).reshape(-1, 1)
    if plan.free_text:
        feeds[FREE_TEXT] = [column.matrix(list(filled_text(texts[column.name]))) for column in plan.free_text]
    return feeds


def _frame_date_features(plan, frame):
    from snaketrain.preprocessing import calendar_features

    formats = {column.name: column.fmt for column in plan.dates}
    times = {column.name: column.has_time for column in plan.dates}
    return calendar_features(frame[list(formats)], formats, times)[list(plan.date_inputs)].to_numpy()
