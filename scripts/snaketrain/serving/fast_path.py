"""The fast prediction path of the model service: a loaded version's pipeline (preprocessor + estimator) converted
to ONNX and run by ONNX Runtime, with scikit-learn as the fallback.

One row through scikit-learn's Pipeline on a DataFrame costs about a millisecond, mostly per-call validation and
DataFrame work; the same pipeline in ONNX Runtime on a float array costs about a tenth of that (bench/README.md).
A conversion is adopted only when ONNX Runtime gives the same labels (and probabilities within PROBA_TOLERANCE)
as scikit-learn on probe rows spread around the training data; otherwise, or for models or inputs skl2onnx cannot
convert (categorical columns, unsupported estimators), predictions go through inference.predict unchanged, and
.engine / .fallback_reason say which path is used and why.
"""

from dataclasses import dataclass

import numpy as np

from snaketrain.registry import inference

# ONNX Runtime computes in float32; probabilities further apart than this from scikit-learn's refuse the conversion
PROBA_TOLERANCE = 1e-4
PROBE_ROWS = 256


def sklearn_pipeline(loaded):
    """The version's fitted Pipeline: the registry's own file once it stores one, else preprocessor + estimator."""
    from sklearn.pipeline import make_pipeline

    return getattr(loaded, "pipeline", None) or make_pipeline(loaded.preprocessor, loaded.model)


def without_text_step(loaded):
    """The version's preprocessor and estimator without the preprocessor's text step (preprocessing.as_text):
    a no-op on the numeric-only inputs the ONNX path takes, and a function skl2onnx cannot convert."""
    from sklearn.pipeline import Pipeline

    preprocessor = preprocessor_of(loaded)
    columns = getattr(preprocessor, "named_steps", {}).get("columns", preprocessor)
    return Pipeline([("columns", columns), ("model", loaded.model)])


def preprocessor_of(loaded):
    """The fitted preprocessor: the loaded version's own, or the first step of its Pipeline."""
    preprocessor = getattr(loaded, "preprocessor", None)
    return preprocessor if preprocessor is not None else sklearn_pipeline(loaded)[0]


def is_numeric_schema(input_schema):
    return all(kind == "numeric" for kind in input_schema["columns"].values())


def probe_rows(loaded, n=PROBE_ROWS, seed=0):
    """Rows spread around the training data (the imputer's medians and the scaler's spread, when the preprocessor
    has them), plus a row of missing values, in the order of the schema's columns."""
    columns = list(loaded.input_schema["columns"])
    center, spread = np.zeros(len(columns)), np.ones(len(columns))
    for name, transformer, used in getattr(preprocessor_of(loaded), "transformers_", []):
        if name != "numeric" or not hasattr(transformer, "named_steps"):
            continue
        steps = transformer.named_steps
        positions = [columns.index(column) for column in used]
        if "impute" in steps and hasattr(steps["impute"], "statistics_"):
            center[positions] = steps["impute"].statistics_
        spread[positions] = steps["scale"].scale_ if "scale" in steps else np.maximum(np.abs(center[positions]), 1)
    rows = center + spread * np.random.default_rng(seed).normal(scale=1.5, size=(n, len(columns)))
    return np.vstack([rows, np.full(len(columns), np.nan)])


@dataclass
class Predictor:
    """Predicts for one loaded version: .predict_matrix on a float array whose columns follow the input schema
    (the service's fast path, numeric schemas only), .predict_frame on rows already checked by check_input."""

    loaded: object
    engine: str
    fallback_reason: str = None
    session: object = None
    input_names: tuple = ()

    @property
    def columns(self):
        return list(self.loaded.input_schema["columns"])

    def predict_matrix(self, matrix):
        if self.session is None:
            import pandas as pd

            return self.predict_frame(pd.DataFrame(matrix, columns=self.columns))
        matrix = np.asarray(matrix, dtype=np.float32)
        feeds = {name: matrix[:, index : index + 1] for index, name in enumerate(self.input_names)}
        outputs = self.session.run(None, feeds)
        probabilities = outputs[1] if len(outputs) > 1 and self.loaded.task != "regression" else None
        labels = outputs[0].ravel()
        if self.loaded.task == "regression":
            labels = labels.astype(np.float64)
        return labels, probabilities

    def predict_frame(self, checked):
        """Rows that passed check_input (numeric columns as numbers)."""
        if self.session is not None:
            return self.predict_matrix(checked[self.columns].to_numpy(dtype=np.float64, na_value=np.nan))
        prediction = inference.predict(self.loaded, checked, stage="serve")
        return prediction.labels, prediction.probabilities


def _convert(loaded):
    """An ONNX Runtime session for the version's pipeline, one float input per schema column, in schema order."""
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    columns = list(loaded.input_schema["columns"])
    pipeline = without_text_step(loaded)
    # plain arrays of probabilities, not a list of {class: probability}
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}}
    onx = convert_sklearn(pipeline, initial_types=[(c, FloatTensorType([None, 1])) for c in columns], options=options)
    session_options = onnxruntime.SessionOptions()
    # the service runs one request at a time per worker: more threads only contend for the same cores
    session_options.intra_op_num_threads = 1
    session_options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onx.SerializeToString(), session_options, providers=["CPUExecutionProvider"])
    return session, tuple(node.name for node in session.get_inputs())


def disagreement(reference, candidate, task):
    """Why candidate's (labels, probabilities) differ from reference's, or None when they agree."""
    ref_labels, ref_proba = reference
    labels, proba = candidate
    if task == "regression":
        if not np.allclose(labels, ref_labels, rtol=1e-4, atol=1e-4):
            return "ONNX Runtime's values differ from scikit-learn's on probe rows"
        return None
    if list(labels) != list(ref_labels):
        return "ONNX Runtime's labels differ from scikit-learn's on probe rows"
    if ref_proba is not None and (proba is None or np.abs(np.asarray(proba) - ref_proba).max() > PROBA_TOLERANCE):
        return "ONNX Runtime's class probabilities differ from scikit-learn's on probe rows"
    return None


def build(loaded, engine="auto"):
    """The fastest predictor that agrees with scikit-learn: ONNX Runtime when engine is "auto" and the version
    converts and agrees on probe rows, else scikit-learn (with the reason)."""
    fallback = Predictor(loaded, "scikit-learn")
    if engine == "sklearn":
        fallback.fallback_reason = "the scikit-learn engine was asked for"
        return fallback
    if loaded.task == "regression":
        # ONNX Runtime computes in float32: values would differ from scikit-learn's in the last digits
        fallback.fallback_reason = "regression values stay in scikit-learn's float64"
        return fallback
    if not is_numeric_schema(loaded.input_schema):
        fallback.fallback_reason = "the input has categorical columns; the ONNX path covers numeric inputs only"
        return fallback
    try:
        session, names = _convert(loaded)
    except Exception as error:  # any converter or runtime refusal means: stay on scikit-learn
        fallback.fallback_reason = f"the pipeline does not convert to ONNX ({type(error).__name__})"
        return fallback
    fast = Predictor(loaded, "onnxruntime", session=session, input_names=names)
    probes = probe_rows(loaded)
    why = disagreement(fallback.predict_matrix(probes), fast.predict_matrix(probes), loaded.task)
    if why:
        fallback.fallback_reason = why
        return fallback
    return fast
