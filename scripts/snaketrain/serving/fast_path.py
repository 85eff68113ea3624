"""The fast prediction path of the model service: a loaded version's pipeline (preprocessor + estimator) converted
to ONNX with skl2onnx and run by ONNX Runtime, with scikit-learn as the fallback.

One row through scikit-learn's Pipeline on a DataFrame costs about a millisecond, mostly per-call validation and
DataFrame work; the same pipeline in ONNX Runtime, fed straight from the JSON values, costs a few hundredths of that.

Two graphs, from a twin of the fitted preprocessor and the estimator (serving.conversion): the features graph takes
one input per column, float64 for numbers (scaling as scikit-learn computes it) and a string tensor for text; the
estimator's graph takes the features in float64, or in float32 for tree classifiers (skl2onnx writes them for
float32; scikit-learn's trees and forests compute on float32 too). Tree regressors take float64 with double
thresholds and sums (serving.converters.DOUBLE_TREES), fed the features rounded to float32 where scikit-learn rounds
them. What the imputers and the encoder learnt is applied while the feeds are built (serving.plan, serving.feeds): a
missing number becomes the imputer's value (ONNX Runtime's Imputer takes float32 only); a missing text (null, NaN,
blank) the imputer's fill value; a category the encoder grouped as infrequent, or never saw, one marker, which the
twin OneHotEncoder (skl2onnx converts none with infrequent categories) maps to the infrequent column, or to zeros
when there is none, as scikit-learn does. What ONNX has no operator for runs in Python around the graph, with
scikit-learn's values bit for bit: a date's calendar features before it (DateColumn), free text's TF-IDF after it
(FreeTextColumn), and the user's feature code (features.custom) before everything.

A conversion is adopted only when ONNX Runtime agrees with scikit-learn (serving.agreement). Otherwise predictions go
through scikit-learn, and .engine / .fallback_reason say which path serves and why. Estimators outside
scikit-learn plug in through serving.converters.
"""

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from snaketrain import custom_features
from snaketrain.serving import agreement, converters
from snaketrain.serving.conversion import convertible, estimator_casts, to_onnx
from snaketrain.serving.feeds import frame_feeds
from snaketrain.serving.plan import FREE_TEXT, InputPlan

INLINE_SECONDS = 0.001
TIE_DECIMALS = 6  # float32 sums of a forest's votes are within 1e-7 of scikit-learn's float64 ones
RUNTIME = ("onnxruntime", "skl2onnx")  # requirements-serve.txt


def missing_runtime():
    """The fast path's packages that are not installed (empty when it can be built)."""
    import importlib.util

    return [module for module in RUNTIME if importlib.util.find_spec(module) is None]


@dataclass
class Predictor:
    """Predicts for one loaded version: .predict_feeds on what rows_feeds/records_feeds built (ONNX only),
    .predict_frame on rows checked by check_input. Both compute only what is asked: labels, or probabilities too."""

    loaded: object
    engine: str
    fallback_reason: str = None
    session: object = None  # (features session, estimator session)
    plan: InputPlan = None
    casts: tuple = ()  # the dtypes the features go through before the estimator graph (estimator_casts)
    labels_from_proba: bool = False
    classes: np.ndarray = None
    threshold: tuple = None  # (positive index, other index, threshold) of a tuned decision threshold
    outputs: tuple = field(default=())
    inline_rows: int = 0  # calls on at most this many rows take under INLINE_SECONDS

    @property
    def fast(self):
        return self.session is not None

    @property
    def request_plan(self):
        """The plan for building feeds straight from a request's values: none when the user's feature code
        (features.custom) must run on the rows first."""
        return self.plan if self.loaded.features is None else None

    def steps(self):
        """Where each part of a prediction runs, in order: [{"step": ..., "runs_in": "python" | engine}]."""
        if not self.fast:
            return [{"step": "preprocessor and model", "runs_in": self.engine}]
        dates = [f"calendar features of {column.name} ({column.fmt})" for column in self.plan.dates]
        words = [f"TF-IDF of {column.name}" for column in self.plan.free_text]
        codes = [f"target encoding of {column.name}" for column in self.plan.codes]
        python = [{"step": step, "runs_in": "python"} for step in (*dates, *codes, *words)]
        rest = "the rest of the preprocessor and model" if python else "preprocessor and model"
        return python + [{"step": rest, "runs_in": self.engine}]

    def predict_feeds(self, feeds, probabilities=False):
        features, estimator = self.session
        free_text = feeds.get(FREE_TEXT)
        if free_text is None:
            (matrix,) = features.run(None, feeds)
        else:
            (matrix,) = features.run(None, {name: value for name, value in feeds.items() if name != FREE_TEXT})
            matrix = np.hstack([matrix, *free_text])
        for dtype in self.casts:
            matrix = matrix.astype(dtype)
        inputs = {"features": matrix}
        if self.labels_from_proba:
            (proba,) = estimator.run(self.outputs[1:2], inputs)
            labels = labels_from_proba(proba, self.classes, self.threshold)
            return labels, proba.astype(np.float64) if probabilities else None
        if probabilities and len(self.outputs) > 1:
            labels, proba = estimator.run(self.outputs[:2], inputs)
            return self._labels(labels), proba.astype(np.float64)
        (labels,) = estimator.run(self.outputs[:1], inputs)
        return self._labels(labels), None

    def _labels(self, values):
        values = values.ravel()
        return values.astype(np.float64) if self.loaded.task == "regression" else values

    def predict_frame(self, checked, probabilities=False, stage="serve", where=None):
        """Rows that passed check_input (numeric columns as numbers); the user's feature code runs on them first,
        in Python, then the ONNX graphs or scikit-learn."""
        if self.loaded.features is not None:
            columns = list(self.loaded.input_schema["columns"])
            checked = custom_features.apply(self.loaded.features, checked[columns], stage, where)
        if self.fast:
            return self.predict_feeds(frame_feeds(self.plan, checked), probabilities)
        pipeline = self.loaded.pipeline
        rows = checked[list(pipeline.feature_names_in_)]
        labels = pipeline.predict(rows)
        proba = None
        if probabilities and self.loaded.task != "regression" and hasattr(pipeline, "predict_proba"):
            proba = pipeline.predict_proba(rows)
        return labels, proba


def labels_from_proba(proba, classes, threshold=None):
    """Labels from the graph's class probabilities: with a tuned decision threshold (positive index, other index,
    threshold) the positive class where its probability reaches the threshold, as scikit-learn's
    FixedThresholdClassifier decides; else the most probable class, as scikit-learn's forests do."""
    if threshold is not None:
        positive, other, value = threshold
        return classes[np.where(proba[:, positive] >= value, positive, other)]
    # scikit-learn's forests predict classes_[argmax(probabilities)], the first class on a tie (votes split
    # evenly); ONNX sums in float32, so a tie comes out 0.49999994 / 0.50000006: round off that noise first
    return classes[np.argmax(np.round(proba, TIE_DECIMALS), axis=1)]


def build(loaded, engine="auto", check_rows=None):
    """The fastest predictor that agrees with scikit-learn: ONNX Runtime when engine is "auto" and the version
    converts and agrees on check_rows (a DataFrame of raw input rows, e.g. the test split) and probe rows, else
    scikit-learn, with the reason."""
    fallback = Predictor(loaded, "scikit-learn")
    if engine == "sklearn":
        fallback.fallback_reason = "the scikit-learn engine was asked for"
        return fallback
    fast, why = converted(loaded)
    if fast is not None:
        why = _disagreement(loaded, fallback, fast, check_rows)
    if why:
        fallback.fallback_reason = why
        return fallback
    fast.inline_rows = inline_rows(fast, agreement.probe_rows(loaded, fast.plan))
    return fast


def converted(loaded):
    """(the ONNX Runtime Predictor of the version, None), or (None, why its pipeline does not convert)."""
    from sklearn.ensemble._forest import ForestClassifier

    try:
        plan, columns, model = convertible(loaded)
        features, estimator = (_session(onx) for onx in to_onnx(plan, columns, model))
    except converters.Unconvertible as error:
        return None, f"the pipeline does not convert to ONNX: {error}"
    except Exception as error:  # any converter or runtime refusal means: stay on scikit-learn
        return None, f"the pipeline does not convert to ONNX ({type(error).__name__}: {error})"[:300]
    outputs = tuple(output.name for output in estimator.get_outputs())
    threshold = converters.threshold_of(loaded.model)
    forest = (isinstance(model, ForestClassifier) or threshold is not None) and len(outputs) > 1
    fast = Predictor(
        loaded,
        "onnxruntime",
        session=(features, estimator),
        plan=dataclasses.replace(plan, inputs=tuple(node.name for node in features.get_inputs())),
        outputs=outputs,
        casts=estimator_casts(model),
        labels_from_proba=forest,
        classes=np.asarray(model.classes_) if forest else None,
        threshold=threshold,
    )
    return fast, None


def _disagreement(loaded, reference, fast, check_rows):
    """Why fast disagrees with reference, or could not be checked; None when it agrees."""
    try:
        return agreement.check(loaded, reference, fast, check_rows)
    except Exception as error:  # rows the check could not score: trust nothing
        return f"the conversion could not be checked ({type(error).__name__}: {error})"[:300]


def session_options():
    """ONNX Runtime tuned for serving: one thread per session (each worker process answers one request at a time,
    and more threads would only contend for the same cores), sequential execution, full graph optimisation."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _session(onx):
    import onnxruntime

    return onnxruntime.InferenceSession(onx.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])


def inline_rows(fast, rows, repeats=10):
    """How many rows one call predicts within INLINE_SECONDS (timed on rows, best of `repeats`: the call's cost on
    a quiet core, whatever the load when the version loads): the service runs such calls on its event loop, where
    a thread hop would cost more than the call, and larger ones in a thread."""
    feeds = frame_feeds(fast.plan, rows)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fast.predict_feeds(feeds)
        best = min(best, time.perf_counter() - start)
    return max(1, int(INLINE_SECONDS * len(rows) / best))
