"""The one inference path: the registered Pipeline, its deterministic skops bytes, and loading that never runs
code from a file."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from snaketrain.estimators import build_estimator
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError
from snaketrain.stages.build_features import fit_transform
from snaketrain.table_io import sha256_file, write_json
from tests.fitted_models import NAME, publish_fitted, rows

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
        "import pickle, sys; from snaketrain.registry import inference; "
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


SCHEMA = {"target": "y", "columns": {"x": "numeric", "n": "numeric", "colour": "categorical"}, "dtypes": {}}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inference")
    root = folder / "registry"
    binary, _ = publish_fitted(root, folder, "binary")
    regression, _ = publish_fitted(root, folder, "regression")
    return root, binary, regression


def test_missing_columns_are_listed_by_name():
    with pytest.raises(inference.InputError) as error:
        inference.check_input(rows(4).drop(columns=["x", "colour"]), SCHEMA, where="new.csv")
    assert error.value.problems == ["the input lacks 2 column(s) the model needs: x, colour"]
    text = str(error.value)
    assert text.startswith("[predict] the input lacks 2 column(s) the model needs: x, colour")
    assert "the model was trained with x (numeric), n (numeric), colour (categorical)" in text


def test_a_wrong_dtype_names_the_column_and_an_example_value():
    df = rows(4)
    df["n"] = df["n"].astype(object)
    df.loc[1, "n"] = "seven"
    df.loc[3, "n"] = "eight"
    with pytest.raises(inference.InputError) as error:
        inference.check_input(df, SCHEMA, where="new.csv")
    assert error.value.problems == ["column 'n' must be numeric but holds 'seven' (row 1, and 1 more row(s))"]
    assert "where: new.csv, column n" in str(error.value)


def test_every_problem_is_reported_at_once():
    df = rows(4).drop(columns="colour")
    df["x"] = [True, False, True, False]
    with pytest.raises(inference.InputError) as error:
        inference.check_input(df, SCHEMA)
    assert error.value.problems == [
        "the input lacks 1 column(s) the model needs: colour",
        "column 'x' must be numeric but holds true/false values",
    ]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [("%d/%m/%Y", "29/02/2024", "30/02/2022"), ("ISO8601", "2024-02-29T10:00:00+01:00", "2020-02-30")],
)
def test_dates_given_must_parse_in_their_format_and_missing_ones_may_be_missing(fmt, good, bad):
    df = rows(4).assign(day=[good, None, "", bad])
    schema = {**SCHEMA, "columns": {**SCHEMA["columns"], "day": "categorical"}}
    inference.check_input(df.head(3), schema, dates={"day": fmt})
    inference.check_input(df, schema)  # without dates, a date column is text like any other
    with pytest.raises(inference.InputError) as error:
        inference.check_input(df.assign(n="seven"), schema, where="new.csv", dates={"day": fmt})
    form = "ISO 8601" if fmt == "ISO8601" else fmt
    assert error.value.problems == [
        "column 'n' must be numeric but holds 'seven' (row 0, and 3 more row(s))",
        f"column 'day' must be a date ({form}) but holds '{bad}' (row 3)",
    ]


def test_numbers_written_as_text_are_read_and_extra_columns_returned():
    df = rows(4).drop(columns="y")
    df["n"] = df["n"].astype(str)
    df["note"] = "kept aside"
    before = df.copy()
    checked, extra = inference.check_input(df, SCHEMA)
    assert extra == ["note"]
    assert checked["n"].tolist() == [float(v) for v in df["n"]]
    pd.testing.assert_frame_equal(df, before)  # the caller's rows are not changed


def test_a_classifier_gives_labels_and_probabilities_per_class(published):
    root, binary, _ = published
    loaded = inference.load_version(root, binary, NAME)
    assert loaded.task == "binary" and loaded.classes == ["no", "yes"]
    new = rows(20, seed=5).drop(columns="y")
    new["comment"] = "ignored"
    prediction = inference.predict(loaded, new)
    assert prediction.extra_columns == ("comment",)
    assert set(prediction.labels) <= {"no", "yes"} and len(prediction.labels) == 20
    assert prediction.probabilities.shape == (20, 2)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0)
    # the labels follow the larger probability, and the model learnt y = yes when x > 0
    assert list(prediction.labels) == [prediction.classes[i] for i in prediction.probabilities.argmax(axis=1)]
    assert (prediction.labels == np.where(new["x"] > 0, "yes", "no")).mean() > 0.8


def test_a_regressor_gives_values_and_no_probabilities(published):
    root, _, regression = published
    loaded = inference.load_version(root, regression, NAME)
    prediction = inference.predict(loaded, rows(10, task="regression", seed=6))
    assert prediction.probabilities is None and loaded.classes is None
    np.testing.assert_allclose(prediction.labels, 3 * rows(10, task="regression", seed=6)["x"] + 1, atol=1e-6)


def test_the_production_version_is_loaded_and_its_absence_explained(tmp_path, published):
    root, binary, _ = published
    with pytest.raises(StageError, match=r"\[predict\] model 'toy' has no version in production"):
        inference.load_production(root, NAME)
    production = tmp_path / "registry"
    version, _ = publish_fitted(production, tmp_path, "binary")
    registry.promote(production, version, NAME)
    assert version == binary  # the same bytes give the same version in any registry
    assert inference.load_production(production, NAME).version == version


def test_a_changed_file_is_refused_at_load(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    path = registry.version_dir(root, version, NAME) / "pipeline.skops"
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(StageError, match="sha256 mismatch"):
        inference.load_version(root, version, NAME)


def test_loading_under_another_major_version_of_the_models_library_warns(monkeypatch):
    monkeypatch.setattr(inference, "library_version", lambda name: "4.0.1")
    with pytest.warns(UserWarning, match=r"trained with xgboost 3\.2\.0; xgboost 4\.0\.1 is installed here"):
        inference.warn_on_other_library({"estimator_library": {"name": "xgboost", "version": "3.2.0"}}, "v1")
    monkeypatch.setattr(inference, "library_version", lambda name: "3.9.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inference.warn_on_other_library({"estimator_library": {"name": "xgboost", "version": "3.2.0"}}, "v1")
        inference.warn_on_other_library({}, "v1")  # versions registered before it was recorded
