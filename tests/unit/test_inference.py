"""The one inference path: the registered Pipeline, its deterministic skops bytes, and loading that never runs
code from a file."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from snaketrain import inference
from snaketrain import model_registry as registry
from snaketrain.build_features import fit_transform
from snaketrain.estimators import build_estimator
from snaketrain.stage_log import StageError
from snaketrain.table_io import sha256_file, write_json

FEATURES = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20}


def table(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "size": rng.normal(size=rows).round(3),
            "colour": rng.choice(["red", "blue", None], size=rows),
            "grade": pd.array(rng.integers(1, 4, size=rows), dtype="Int64").astype(object),
            "target": rng.integers(0, 2, size=rows),
        }
    )


def fitted(estimator="random_forest"):
    train, test = table(seed=0), table(seed=1)
    preprocessor, train_x, test_x, schema = fit_transform(train, test, "target", FEATURES)
    model = build_estimator(estimator, {"estimator": estimator, "params": {}}, "binary", 0)
    model.fit(train_x.drop(columns="target"), train_x["target"])
    return inference.make_pipeline(preprocessor, model), model, test_x, test, {**schema, "task": "binary"}


def register(root, tmp_path, pipeline, schema):
    inference.save_pipeline(pipeline, tmp_path / "pipeline.skops")
    meta = {"model": "rf", "task": "binary", "metrics": {}, "input_schema": schema}
    version, _ = registry.publish(root, {"pipeline.skops": tmp_path / "pipeline.skops"}, meta, "toy")
    return version


@pytest.mark.parametrize("estimator", ["logistic_regression", "random_forest", "hist_gradient_boosting", "knn"])
def test_the_pipeline_predicts_from_raw_columns_like_the_parts_do(tmp_path, estimator):
    pipeline, model, test_x, test, schema = fitted(estimator)
    root = tmp_path / "registry"
    version = register(root, tmp_path, pipeline, schema)
    loaded = inference.load_version(root, version, "toy")
    # raw rows (text conversion of categorical columns inside) give what the model gives on the built features
    expected = model.predict_proba(test_x.drop(columns="target"))
    prediction = inference.predict(loaded, test.drop(columns="target"))
    np.testing.assert_array_equal(prediction.probabilities, expected)
    assert loaded.name == "toy" and loaded.model.__class__ is model.__class__


def test_pipeline_bytes_are_the_same_in_another_process(tmp_path):
    pipeline, *_ = fitted("random_forest")
    here = inference.pipeline_bytes(pipeline)
    assert inference.pipeline_bytes(pipeline) == here
    pickle.dump(pipeline, open(tmp_path / "pipeline.pkl", "wb"))  # noqa: SIM115 - a test input, read by a child
    code = (
        "import pickle, sys; from snaketrain import inference; "
        "sys.stdout.buffer.write(inference.pipeline_bytes(pickle.load(open(sys.argv[1], 'rb'))))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline.pkl")], capture_output=True, check=True
    )
    assert there.stdout == here


class WritesAMarker:
    """A pickle payload: unpickling it runs os.system (what a malicious model file does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("hash_updated", [False, True], ids=["file replaced", "file and its recorded sha256 replaced"])
def test_a_pickle_in_the_registry_is_refused_and_never_runs(tmp_path, hash_updated):
    pipeline, *_, schema = fitted("logistic_regression")
    root = tmp_path / "registry"
    version = register(root, tmp_path, pipeline, schema)
    marker = tmp_path / "marker"
    target = registry.version_dir(root, version, "toy") / "pipeline.skops"
    target.write_bytes(pickle.dumps(WritesAMarker(marker)))
    if hash_updated:  # someone who can write the registry can rewrite the metadata too
        meta_path = registry.version_dir(root, version, "toy") / "metadata.json"
        meta = registry.metadata(root, version, "toy")
        write_json({**meta, "files": {"pipeline.skops": sha256_file(target)}}, meta_path)
    with pytest.raises(StageError) as refused:
        inference.load_version(root, version, "toy")
    expected = "is not a model file in the safe (skops) format" if hash_updated else "sha256 mismatch"
    assert expected in str(refused.value)
    assert not marker.exists()


def test_a_skops_file_holding_an_untrusted_function_is_refused(tmp_path):
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "evil.skops"
    skops.io.dump(FunctionTransformer(os.system), path)
    with pytest.raises(StageError, match="holds types that are not trusted: .*system"):
        inference.read_pipeline(path)


def test_a_version_registered_before_safe_storage_is_not_loaded(tmp_path):
    root = tmp_path / "registry"
    (tmp_path / "model.joblib").write_bytes(b"old joblib bytes")
    version, _ = registry.publish(root, {"model.joblib": tmp_path / "model.joblib"}, {"task": "binary"}, "toy")
    with pytest.raises(StageError, match="registered before models were stored safely"):
        inference.load_version(root, version, "toy")


def test_load_production_names_the_other_names_when_this_one_has_none(tmp_path):
    pipeline, *_, schema = fitted("logistic_regression")
    root = tmp_path / "registry"
    version = register(root, tmp_path, pipeline, schema)
    registry.promote(root, version, "toy")
    assert inference.load_production(root, "toy").version == version
    with pytest.raises(StageError, match="(?s)model .other. has no version in production.*names with models .*: toy"):
        inference.load_production(root, "other")
