"""Whether a conversion agrees with scikit-learn: on the version's check rows (e.g. its test split) and on probe rows
spread around the training data (medians, spread, every category, missing and unseen values), the same labels,
probabilities within PROBA_TOLERANCE and values within REGRESSION_RTOL."""

import datetime

import numpy as np

from snaketrain.registry import inference
from snaketrain.serving.conversion import column_transformer
from snaketrain.serving.feeds import frame_feeds
from snaketrain.serving.plan import EPOCH, ISO8601

PROBA_TOLERANCE = 1e-5
REGRESSION_RTOL = 1e-6
PROBE_ROWS = 256


def probe_rows(loaded, plan, n=PROBE_ROWS, seed=0):
    """Raw input rows spread around the training data: numbers around the imputer's medians with the scaler's
    spread (a few missing), every trained category in turn, missing and unseen text; a DataFrame."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    center, spread = {}, {}
    for _, transformer, used in column_transformer(loaded.preprocessor).transformers_:
        steps = getattr(transformer, "named_steps", {})
        if "calendar" in steps:
            steps, used = steps["numbers"].named_steps, plan.date_inputs
        impute, scale = steps.get("impute"), steps.get("scale")
        for index, column in enumerate(used):
            if column in plan.numeric or column in plan.date_inputs:
                center[column] = getattr(impute, "statistics_", np.zeros(len(used)))[index]
                spread[column] = scale.scale_[index] if scale is not None else max(abs(center[column]), 1.0)
    frame = {}
    for column in plan.numeric:
        values = center.get(column, 0.0) + spread.get(column, 1.0) * rng.normal(scale=1.5, size=n)
        values[rng.random(n) < 0.05] = np.nan
        frame[column] = values
    for column in plan.text:
        choices = [*column.lookup, None, "", "never seen in training"]
        frame[column.name] = [choices[(i + rng.integers(len(choices))) % len(choices)] for i in range(n)]
    for column in plan.dates:
        frame[column.name] = _probe_dates(column, center.get(f"{column.name}_days", 0.0), rng, n)
    for column in plan.free_text:
        words = [*sorted(column.vocabulary), "neverseenword"]
        texts = [" ".join(rng.choice(words, size=rng.integers(0, 9))) for _ in range(n)]
        frame[column.name] = [None, "", " ", *texts[3:]][:n]
    return pd.DataFrame(frame)


def _probe_dates(column, center_days, rng, n):
    """Dates around the trained median written in the column's format; a few missing or not dates at all."""
    values = []
    for days in center_days + 400 * rng.normal(size=n):
        when = EPOCH + datetime.timedelta(days=float(days), seconds=int(rng.integers(86400)) * column.has_time)
        text = when.strftime(column.fmt) if column.fmt != ISO8601 else str(when if column.has_time else when.date())
        values.append(text)
    return [None, "not a date", "", *values[3:]][:n]


def disagreement(reference, candidate, task):
    """Why candidate's (labels, probabilities) differ from reference's, or None when they agree."""
    ref_labels, ref_proba = reference
    labels, proba = candidate
    if task == "regression":
        if not np.allclose(np.asarray(labels, dtype=np.float64), ref_labels, rtol=REGRESSION_RTOL, atol=1e-12):
            worst = np.max(np.abs(labels - ref_labels) / np.maximum(np.abs(ref_labels), 1e-12))
            return f"ONNX Runtime's values differ from scikit-learn's (relative {worst:.1e} > {REGRESSION_RTOL})"
        return None
    if list(labels) != list(ref_labels):
        count = sum(a != b for a, b in zip(labels, ref_labels, strict=True))
        return f"ONNX Runtime's labels differ from scikit-learn's on {count} of {len(labels)} check rows"
    if ref_proba is not None:
        worst = np.abs(np.asarray(proba) - ref_proba).max() if proba is not None else np.inf
        if worst > PROBA_TOLERANCE:
            return f"ONNX Runtime's class probabilities differ from scikit-learn's by {worst:.1e} (> {PROBA_TOLERANCE})"
    return None


def check(loaded, reference, fast, check_rows):
    """Why fast disagrees with reference (scikit-learn) on check_rows (raw input rows, through the user's feature
    code when the version has some) and on probe rows (the preprocessor's own input columns), or None."""
    want = loaded.task != "regression"
    if check_rows is not None and len(check_rows):
        rows = check_rows[list(loaded.input_schema["columns"])]
        checked, _ = inference.check_input(rows, loaded.input_schema, stage="serve")
        why = disagreement(reference.predict_frame(checked, want), fast.predict_frame(checked, want), loaded.task)
        if why:
            return why
    probe = probe_rows(loaded, fast.plan)
    if loaded.features is None:  # else the probe holds the columns the feature code gives, past the input schema
        probe, _ = inference.check_input(probe, loaded.input_schema, stage="serve")
    pipeline = loaded.pipeline
    probe = probe[list(pipeline.feature_names_in_)]  # a fitted ColumnTransformer selects columns by position
    want = want and hasattr(pipeline, "predict_proba")
    expected = pipeline.predict(probe), pipeline.predict_proba(probe) if want else None
    return disagreement(expected, fast.predict_feeds(frame_feeds(fast.plan, probe), want), loaded.task)
