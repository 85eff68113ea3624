"""The predict stage: new rows scored by the production model of a real registry, with clear errors."""

import numpy as np
import pandas as pd
import pytest

from snaketrain.data_files import predict_input_path
from snaketrain.registry import model_registry
from snaketrain.registry.inference import Prediction
from snaketrain.registry.model_registry import existing_production_path
from snaketrain.stage_log import StageError
from snaketrain.stages.predict import run, scored_table
from tests.fitted_models import NAME, publish_fitted, rows


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def test_scored_table_adds_the_prediction_and_one_probability_column_per_class():
    df = pd.DataFrame({"a": [1, 2]})
    prediction = Prediction(np.array(["no", "yes"]), np.array([[0.8, 0.2], [0.3, 0.7]]), ["no", "yes"])
    scored = scored_table(df, prediction)
    assert list(scored.columns) == ["a", "prediction", "proba_no", "proba_yes"]
    assert scored["prediction"].tolist() == ["no", "yes"] and scored["proba_yes"].tolist() == [0.2, 0.7]
    assert list(df.columns) == ["a"]  # the input rows are not changed


def test_scored_table_of_a_regressor_has_no_probabilities():
    scored = scored_table(pd.DataFrame({"a": [1, 2]}), Prediction(np.array([0.5, 1.5])))
    assert list(scored.columns) == ["a", "prediction"]


def test_the_stage_scores_a_csv_with_the_production_model(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    model_registry.promote(root, version, NAME)
    new = rows(12, seed=9).drop(columns="y")
    new["id"] = range(12)
    new.to_csv(tmp_path / "new.csv", index=False)
    log = tmp_path / "predict.log"
    run(
        Job(data=str(tmp_path / "new.csv")),
        Job(predictions=str(tmp_path / "scored.parquet")),
        Job(registry=str(root), name=NAME, delimiter=",", encoding="utf-8", engine="auto"),
        [str(log)],
    )
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    assert list(scored.columns) == ["x", "n", "colour", "id", "prediction", "proba_no", "proba_yes"]
    assert scored["id"].tolist() == list(range(12))
    np.testing.assert_allclose(scored["proba_no"] + scored["proba_yes"], 1.0)
    text = log.read_text()
    assert "ignoring 1 column(s) the model does not use: id" in text
    assert f"scored 12 rows with production version {version} of {NAME}" in text


def test_rows_that_do_not_fit_the_schema_name_the_file_and_column(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    model_registry.promote(root, version, NAME)
    new = rows(3).drop(columns="y")
    new["x"] = ["1.5", "lots", "2"]
    new.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(StageError) as error:
        run(
            Job(data=str(tmp_path / "new.csv")),
            Job(predictions=str(tmp_path / "scored.parquet")),
            Job(registry=str(root), name=NAME, delimiter=",", encoding="utf-8", engine="auto"),
            [str(tmp_path / "predict.log")],
        )
    text = str(error.value)
    assert "[predict] column 'x' must be numeric but holds 'lots' (row 1)" in text
    assert f"where: predict.input ({tmp_path / 'new.csv'}), column x" in text
    assert not (tmp_path / "scored.parquet").exists()


def test_no_input_configured_says_which_key_to_set():
    with pytest.raises(StageError) as error:
        predict_input_path(None)
    assert "[predict] no file to score" in str(error.value)
    assert "set predict.input in the config" in str(error.value)
    assert predict_input_path("new.csv") == "new.csv"


def test_a_registry_without_production_says_how_to_get_one(tmp_path):
    with pytest.raises(StageError) as error:
        existing_production_path(tmp_path / "registry", NAME)
    text = str(error.value)
    assert (
        f"[predict] no model is in production in the registry '{tmp_path / 'registry'}' for the name '{NAME}'" in text
    )
    assert "until a model passes the quality gate" in text and "registry.path" in text
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    model_registry.promote(root, version, NAME)
    assert existing_production_path(root, NAME) == str(model_registry.production_path(root, NAME))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_stage_scores_by_the_services_fast_path_when_it_agrees_and_by_scikit_learn_when_asked(tmp_path, task):
    pytest.importorskip("onnxruntime", reason="the fast path comes with requirements-serve.txt")
    from snaketrain.registry import inference
    from snaketrain.serving import fast_path

    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, task)
    model_registry.promote(root, version, NAME)
    rows(200, seed=4, task=task).drop(columns="y").to_csv(tmp_path / "new.csv", index=False)
    scored = {}
    for engine in ("auto", "sklearn"):
        log = tmp_path / f"{engine}.log"
        run(
            Job(data=str(tmp_path / "new.csv")),
            Job(predictions=str(tmp_path / f"{engine}.parquet")),
            Job(registry=str(root), name=NAME, delimiter=",", encoding="utf-8", engine=engine),
            [str(log)],
        )
        scored[engine] = pd.read_parquet(tmp_path / f"{engine}.parquet")
    assert f"of {NAME} by onnxruntime\n" in (tmp_path / "auto.log").read_text()
    assert "by scikit-learn (predict.engine is sklearn)" in (tmp_path / "sklearn.log").read_text()
    # the service's answers, from the same path
    loaded = inference.load_production(root, NAME)
    service = fast_path.build(loaded)
    checked, _ = inference.check_input(scored["auto"][["x", "n", "colour"]], loaded.input_schema, "serve")
    served, _ = service.predict_frame(checked)
    assert scored["auto"]["prediction"].tolist() == list(served)
    # and scikit-learn's, within the check's tolerance
    if task == "regression":
        np.testing.assert_allclose(scored["auto"]["prediction"], scored["sklearn"]["prediction"], rtol=1e-6)
    else:
        assert scored["auto"]["prediction"].tolist() == scored["sklearn"]["prediction"].tolist()
        np.testing.assert_allclose(scored["auto"]["proba_yes"], scored["sklearn"]["proba_yes"], atol=1e-5)
