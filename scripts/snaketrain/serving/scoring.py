"""Rows to predictions for the prediction endpoints: the fast path's feeds as they are, else a DataFrame checked
against the served version's input schema (inference.check_input, dates included); on the event loop when the call
takes microseconds, else in a worker thread."""

import asyncio

from snaketrain.registry import inference
from snaketrain.serving.follower import STAGE


class TooManyRows(Exception):
    """More rows than the configured limit: 413."""


async def predict_async(service, served, feeds, make_frame, probabilities):
    """predict, on the event loop when it takes under a millisecond (the fast path on rows it was timed to score
    that fast when the version loaded: a thread hop would cost more than the call), else in a worker thread, so
    that a slow call never stalls the other connections."""
    if feeds is not None and _rows_in(feeds) <= served.predictor.inline_rows:
        return predict(service, served, feeds, make_frame, probabilities)
    return await asyncio.to_thread(predict, service, served, feeds, make_frame, probabilities)


def predict(service, served, feeds, make_frame, probabilities=False):
    """(labels, probabilities or None) for the rows (feeds, else make_frame()); probabilities are computed only
    when asked for. The rows answered are offered to the service's input sample, when it keeps one."""
    if feeds is not None:
        answer = _predict_feeds(served, feeds, probabilities, service.max_rows)
    else:
        answer = _predict_frame(served, make_frame(), probabilities, service.max_rows)
    if service.sample is not None:
        keep_sample(service.sample, served, make_frame)
    return answer


def _predict_feeds(served, feeds, probabilities, max_rows):
    if max_rows and _rows_in(feeds) > max_rows:
        raise TooManyRows(_rows_in(feeds))
    return served.predictor.predict_feeds(feeds, probabilities)


def _predict_frame(served, frame, probabilities, max_rows):
    """Rows the fast path did not take: checked by the inference module, then predicted (InputError names every
    problem)."""
    schema = served.loaded.input_schema
    if frame.empty:
        raise inference.InputError(STAGE, ["the input holds no rows"], schema["columns"])
    if max_rows and len(frame) > max_rows:
        raise TooManyRows(len(frame))
    checked, _extra = inference.check_input(frame, schema, stage=STAGE, dates=served.dates)
    try:
        return served.predictor.predict_frame(checked, probabilities)
    except ValueError:
        # e.g. infinities in a CSV body: scikit-learn refuses them
        raise inference.InputError(
            STAGE, ["the model cannot score these rows (values out of range, such as infinities)"], schema["columns"]
        ) from None


def keep_sample(sample, served, make_frame):
    """Offer the answered rows (the model's input columns only, never headers) to sample, a
    snaketrain.monitoring.reservoir.Reservoir."""
    frame = make_frame()
    columns = [column for column in served.loaded.input_schema["columns"] if column in frame.columns]
    sample.add(frame[columns].to_dict("records"))


def _rows_in(feeds):
    return len(next(iter(feeds.values()))) if feeds else 0
