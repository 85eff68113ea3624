"""The register_model stage: a gated model becomes a registry version whose metadata lets a reader trust it."""

import importlib.util
import json
from importlib import metadata as package_metadata

import pytest
from sklearn.linear_model import LogisticRegression

from snaketrain.registry import model_registry
from snaketrain.stage_log import StageError
from snaketrain.stages.build_features import fit_transform
from snaketrain.stages.register_model import build_metadata, run
from snaketrain.table_io import write_joblib, write_json, write_table
from tests.fitted_models import SETTINGS, rows

DECISION = {"passed": True, "model": "rf", "metric": "f1", "value": 0.94, "checks": [], "reasons": []}
EVALUATION = {"model": "rf", "metrics": {"f1": 0.94, "accuracy": 0.95}}
TUNED = {"best_params": {"max_depth": 8}, "cv_score": 0.93}
SCHEMA = {
    "task": "binary",
    "target": "label",
    "columns": {"x": "numeric", "city": "categorical"},
    "dtypes": {"x": "float64", "city": "object"},
    "features_out": ["x", "city_oslo"],
}
VALIDATION = {"dataset_sha256": "ab" * 32}
# what resolve_estimator writes for the model
SPEC = {
    "model": "rf",
    "task": "binary",
    "estimator": "sklearn.ensemble.RandomForestClassifier",
    "params": {"n_estimators": 10},
    "search_space": {"max_depth": [None, 8]},
    "early_stopping_rounds": 0,
    "library": {"name": "sklearn", "version": "1.9.1"},
}


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def test_metadata_records_the_input_schema_and_package_versions_but_no_time():
    meta = build_metadata(DECISION, EVALUATION, TUNED, SCHEMA, VALIDATION, {"split": {"seed": 1}}, SPEC)
    assert meta["input_schema"] == {k: SCHEMA[k] for k in ("target", "columns", "dtypes")}
    assert meta["task"] == "binary" and meta["model"] == "rf"
    assert meta["estimator"] == {key: SPEC[key] for key in ("estimator", "params", "search_space")}
    assert meta["estimator_library"] == {"name": "sklearn", "version": "1.9.1"}
    assert meta["metrics"] == EVALUATION["metrics"] and meta["best_params"] == {"max_depth": 8}
    assert meta["dataset_sha256"] == "ab" * 32 and meta["config"] == {"split": {"seed": 1}}
    assert meta["packages"]["scikit-learn"] == package_metadata.version("scikit-learn")
    assert meta["packages"]["pandas"] == package_metadata.version("pandas")
    assert "python" in meta["packages"]
    # no timestamp: the same model registered twice gives the same metadata bytes
    text = json.dumps(meta)
    assert not any(word in text for word in ("registered_at", "promoted_at", "time"))
    assert meta == build_metadata(DECISION, EVALUATION, TUNED, SCHEMA, VALIDATION, {"split": {"seed": 1}}, SPEC)


def job(tmp_path, decision):
    inputs = {}
    for name, content in (
        ("decision", decision),
        ("metrics", EVALUATION),
        ("best_params", TUNED),
        ("schema", SCHEMA),
        ("validation", VALIDATION),
        ("estimator", {**SPEC, "estimator": "sklearn.linear_model.LogisticRegression"}),
    ):
        inputs[name] = str(tmp_path / f"{name}.json")
        write_json(content, inputs[name])
    # a real fitted preprocessor and model: the stage stores them as one scikit-learn Pipeline
    train = rows()
    preprocessor, features, _, schema = fit_transform(train, train, "y", SETTINGS)
    # the training part and its schema: the version's reference profile is built from them
    write_json({**schema, "task": "binary"}, inputs["schema"])
    inputs["train"] = str(tmp_path / "train.parquet")
    write_table(train, inputs["train"])
    # the test split: the fast path's conversion is checked on it
    inputs["test"] = str(tmp_path / "test.parquet")
    write_table(rows(n=40, seed=5), inputs["test"])
    inputs["preprocessor"], inputs["model"] = str(tmp_path / "preprocessor.joblib"), str(tmp_path / "model.joblib")
    write_joblib(preprocessor, inputs["preprocessor"])
    write_joblib(LogisticRegression().fit(features.drop(columns="y"), train["y"]), inputs["model"])
    return (
        Job(**inputs),
        Job(
            receipt=str(tmp_path / "receipt.json"),
            pipeline=str(tmp_path / "pipeline.skops"),
            profile=str(tmp_path / "profile.json"),
        ),
        Job(registry=str(tmp_path / "registry"), name="iris", config_sections={}),
        [str(tmp_path / "register_model.log")],
    )


def test_a_passed_gate_is_registered_once_with_a_receipt(tmp_path):
    run(*job(tmp_path, DECISION))
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    root = tmp_path / "registry"
    assert receipt["created"] is True and receipt["model"] == "rf" and receipt["registered_at"]
    meta = model_registry.metadata(root, receipt["version"], "iris")
    assert meta["input_schema"]["columns"] == {"x": "numeric", "n": "numeric", "colour": "categorical"}
    files = model_registry.verified_files(root, receipt["version"], "iris")
    assert set(files) >= {"pipeline.skops", "model.joblib", "profile.json"}
    profile = json.loads(files["profile.json"].read_text())
    assert set(profile["columns"]) == {"x", "n", "colour"} and profile["columns"]["x"]["count"] == 60
    assert sum(n for _, n in profile["prediction"]["counts"]) == 60  # the model's answers on the training part
    assert model_registry.production(root, "iris") is None  # registering is not promoting
    run(*job(tmp_path, DECISION))
    again = json.loads((tmp_path / "receipt.json").read_text())
    assert again["version"] == receipt["version"] and again["created"] is False
    assert (
        f"already had version {receipt['version']} of iris (model rf)" in (tmp_path / "register_model.log").read_text()
    )


def test_the_receipt_says_which_path_the_service_would_serve_the_version_by(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")
    run(*job(tmp_path, DECISION))
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    # scaler + logistic regression on numbers and a text column: converted and checked on the test split
    verdict = receipt["fast_path"]
    assert verdict["engine"] == "onnxruntime" and verdict["why"] is None, verdict
    assert verdict["checked_on"] == "40 test rows and 256 probe rows"
    assert verdict["packages"]["onnxruntime"]
    assert "the service would serve version" in (tmp_path / "register_model.log").read_text()

    # without the service's requirements the stage registers the same version (the check never touches its bytes)
    # and says the path was not checked
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else find_spec(name))
    run(*job(tmp_path, DECISION))
    again = json.loads((tmp_path / "receipt.json").read_text())
    assert again["version"] == receipt["version"]
    assert again["fast_path"] == {
        "engine": None,
        "why": "not checked: onnxruntime not installed (requirements-serve.txt)",
    }


def test_a_failed_decision_is_refused(tmp_path):
    with pytest.raises(StageError, match=r"\[register_model\] the gate did not pass, so nothing may be registered"):
        run(*job(tmp_path, {**DECISION, "passed": False}))
    assert not (tmp_path / "registry").exists()
    assert not (tmp_path / "receipt.json").exists()
