"""Whole-number codes (column_kinds' integer_code: a store number, a zip code) are target-encoded as features
code__<column>; the fast path computes their encodings in Python and stays on ONNX Runtime with scikit-learn's
answers, for missing and unseen codes too, and for every task."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from snaketrain.preprocessing import make_preprocessor
from snaketrain.registry import inference
from snaketrain.serving import fast_path
from snaketrain.serving.feeds import records_feeds
from tests.unit.serving.test_fast_path import records

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")


def coded(model, task, n=3000, seed=0):
    """A LoadedModel on a table with a store code (60 codes, some missing) and a plain number, and its raw rows
    (with codes never seen in training and missing ones)."""
    rng = np.random.default_rng(seed)
    store = rng.integers(100, 160, n).astype(float)
    store[rng.random(n) < 0.05] = np.nan
    spend = rng.normal(50, 10, n)
    effect = np.where(np.isnan(store), 1.0, np.sin(np.nan_to_num(store)))
    signal = effect + (spend - 50) / 10 + rng.normal(0, 0.5, n)
    if task == "regression":
        y = signal
    elif task == "binary":
        y = np.where(signal > 0.3, "yes", "no")
    else:
        y = np.digitize(signal, [-0.5, 0.5])  # three classes
    features = pd.DataFrame({"store": store, "spend": spend})
    preprocessor = make_preprocessor(["store", "spend"], [], "median", True, 20, codes=["store"], task=task)
    X = preprocessor.fit_transform(features, y)
    assert any(name.startswith("code__store") for name in X.columns)
    model.fit(X, y)
    columns = {"store": "numeric", "spend": "numeric"}
    metadata = {"task": task, "input_schema": {"target": "y", "columns": columns, "dtypes": {}}}
    rows = features.copy()
    rows.loc[:20, "store"] = 999.0  # unseen codes
    rows.loc[21:40, "store"] = np.nan
    return inference.LoadedModel("v1", metadata, inference.make_pipeline(preprocessor, model)), rows


@pytest.mark.parametrize(
    ("task", "model"),
    [
        ("binary", LogisticRegression(max_iter=1000)),
        ("multiclass", HistGradientBoostingClassifier(max_iter=30, random_state=0)),
        ("regression", RandomForestRegressor(n_estimators=20, random_state=0)),
    ],
)
def test_code_columns_stay_on_onnx_runtime_with_scikit_learns_answers(task, model):
    loaded, rows = coded(model, task)
    predictor = fast_path.build(loaded, check_rows=rows)
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    assert {"step": "target encoding of store", "runs_in": "python"} in predictor.steps()
    labels, _ = predictor.predict_feeds(records_feeds(predictor.plan, records(rows)))
    expected = inference.predict(loaded, rows).labels
    if task == "regression":
        np.testing.assert_allclose(labels, expected, rtol=1e-6)
    else:
        assert labels.tolist() == list(expected)


def test_a_code_is_encoded_as_the_target_encoder_encodes_it():
    loaded, rows = coded(LogisticRegression(max_iter=1000), "multiclass")
    predictor = fast_path.build(loaded, check_rows=rows)
    (column,) = predictor.plan.codes
    codes_branch = dict((name, step) for name, step, _ in loaded.preprocessor.steps[-1][1].transformers_)["codes"]
    expected = codes_branch.transform(rows[["store"]])
    np.testing.assert_array_equal(column.features(rows["store"].to_numpy()), expected)
