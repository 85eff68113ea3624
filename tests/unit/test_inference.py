"""The one inference path, through real registries: load a verified version, check rows, predict."""

import os

import numpy as np
import pandas as pd
import pytest

from snaketrain import inference
from snaketrain.stage_log import StageError
from tests.fitted_models import publish_fitted, rows

SCHEMA = {"target": "y", "columns": {"x": "numeric", "n": "numeric", "colour": "categorical"}, "dtypes": {}}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
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


def test_numbers_written_as_text_are_read_and_extra_columns_returned():
    df = rows(4).drop(columns="y")
    df["n"] = df["n"].astype(str)
    df["note"] = "kept aside"
    before = df.copy()
    checked, extra = inference.check_input(df, SCHEMA)
    assert extra == ["note"]
    assert checked["n"].tolist() == [float(v) for v in df["n"]]
    pd.testing.assert_frame_equal(df, before)  # the caller's rows are not changed


def test_a_classifier_gives_labels_and_probabilities_per_class(registry):
    root, binary, _ = registry
    loaded = inference.load_version(root, binary)
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


def test_a_regressor_gives_values_and_no_probabilities(registry):
    root, _, regression = registry
    loaded = inference.load_version(root, regression)
    prediction = inference.predict(loaded, rows(10, task="regression", seed=6))
    assert prediction.probabilities is None and loaded.classes is None
    np.testing.assert_allclose(prediction.labels, 3 * rows(10, task="regression", seed=6)["x"] + 1, atol=1e-6)


def test_the_production_version_is_loaded_and_its_absence_explained(tmp_path, registry):
    root, binary, _ = registry
    with pytest.raises(StageError, match=r"\[predict\] no model is in production"):
        inference.load_production(root)
    production = tmp_path / "registry"
    version, _ = publish_fitted(production, tmp_path, "binary")
    from snaketrain import model_registry

    model_registry.promote(production, version)
    assert version == binary  # the same bytes give the same version in any registry
    assert inference.load_production(production).version == version


def test_a_changed_file_is_refused_at_load(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    path = root / "versions" / version / "preprocessor.joblib"
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(StageError, match="sha256 mismatch"):
        inference.load_version(root, version)
