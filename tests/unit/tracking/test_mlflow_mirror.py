"""The MLflow mirror's pure parts (the setting, redaction, params, signature types, examples), and mirroring a
registry to a real MLflow store (a sqlite:/// URI) with sync: versions, alias, idempotence, the model directory."""

import math

import numpy as np
import pandas as pd
import pytest

from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.tracking.mlflow_mirror import (
    ALIAS,
    VERSION_TAG,
    Tracking,
    column_types,
    example_rows,
    finite_metrics,
    flat_params,
    production_alias_command,
    redact,
    sync,
    tracking_from,
    write_mlflow_model,
)

SECRET = "s3cr3t-pass"


def test_the_config_key_comes_first_then_the_environment_and_otherwise_tracking_is_off():
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    assert tracking_from("sqlite:///m.db", env) == Tracking("tracking.mlflow_uri", "sqlite:///m.db")
    assert tracking_from(None, env) == Tracking("MLFLOW_TRACKING_URI", "http://env:5000")
    assert tracking_from(None, {"MLFLOW_TRACKING_URI": "  "}) is None
    assert tracking_from(None, {}) is None


def test_a_tracking_setting_never_shows_its_uri():
    tracking = Tracking("MLFLOW_TRACKING_URI", f"https://user:{SECRET}@mlflow.example:443/")
    assert SECRET not in repr(tracking)
    assert SECRET not in str(tracking)


def test_redact_replaces_the_uri_and_the_credentials_inside_it_by_the_setting_name():
    tracking = Tracking("MLFLOW_TRACKING_URI", f"https://user:{SECRET}@mlflow.example/?token=tok-{SECRET}")
    text = (
        f"API request to https://user:{SECRET}@mlflow.example/api/2.0/x failed; "
        f"url {tracking.uri}; password {SECRET}; token tok-{SECRET}"
    )
    cleaned = redact(text, tracking)
    assert SECRET not in cleaned
    assert "<MLFLOW_TRACKING_URI>" in cleaned
    assert redact("nothing secret here", tracking) == "nothing secret here"
    assert redact(ValueError("plain"), None) == "plain"


def test_flat_params_turns_a_nested_config_into_mlflow_params():
    params = flat_params(
        {"data": {"name": "churn", "path": None}, "gate": {"thresholds": {"f1": 0.9}}, "models": ["a", "b"], "x": {}}
    )
    assert params == {
        "data.name": "churn",
        "data.path": "null",
        "gate.thresholds.f1": "0.9",
        "models": '["a", "b"]',
        "x": "{}",
    }
    assert len(flat_params({"long": "y" * 10_000})["long"]) == 6000


def test_finite_metrics_keeps_only_numbers_mlflow_can_store():
    metrics = {"f1": 0.9, "n": 3, "auc": None, "nan": math.nan, "inf": math.inf, "flag": True, "np": np.float64(0.5)}
    assert finite_metrics(metrics) == {"f1": 0.9, "n": 3.0, "np": 0.5}


SCHEMA = {
    "target": "y",
    "columns": {"age": "numeric", "city": "categorical", "income": "numeric"},
    "dtypes": {"age": "int64", "city": "object", "income": "float64"},
}


def test_column_types_follow_the_recorded_schema():
    assert column_types(SCHEMA) == {"age": "long", "city": "string", "income": "double"}


def test_the_input_example_is_the_first_rows_or_one_row_made_from_the_schema():
    rows = pd.DataFrame({"y": range(8), "income": np.arange(8.0), "city": list("abcdefgh"), "age": range(8)})
    example = example_rows(rows, SCHEMA)
    assert list(example.columns) == ["age", "city", "income"]
    assert len(example) == 5
    made_up = example_rows(rows.drop(columns="city"), SCHEMA)
    assert made_up.to_dict("records") == [{"age": 0, "city": "", "income": 0.0}]


# ---- against a real MLflow store


def _table(seed, n=80):
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    city = rng.choice(["oslo", "rome", "lima"], n)
    income = rng.normal(50, 10, n)
    y = ((age > 45) ^ (city == "rome")).astype(int)
    return pd.DataFrame({"age": age, "city": city, "income": income, "y": y})


def _publish(root, table, c, tmp_path):
    """A registry version like register_model writes: preprocessor, model, metadata with the input schema."""
    from sklearn.linear_model import LogisticRegression

    from snaketrain.stages.build_features import fit_transform

    settings = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 10}
    preprocessor, features, _, _ = fit_transform(table, table, "y", settings)
    model = LogisticRegression(C=c).fit(features.drop(columns="y"), table["y"])
    path = tmp_path / f"pipeline{c}.skops"
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), path)
    files = {"pipeline.skops": path}
    meta = {
        "model": "logistic_regression",
        "task": "binary",
        "metrics": {"f1": 0.8 + c / 100, "roc_auc": None},
        "input_schema": SCHEMA,
        "config": {"data": {"name": "people"}},
        "dataset_sha256": "ab" * 32,
        "git_commit": None,
    }
    return registry.publish(root, files, meta, "people")[0]


def test_sync_mirrors_every_version_and_the_production_alias_once_and_the_model_dir_predicts_like_predict(
    tmp_path, monkeypatch
):
    pytest.importorskip("mlflow", reason="optional install: make setup-mlflow (make test installs it)")
    monkeypatch.chdir(tmp_path)  # a sqlite store keeps artifacts in ./mlruns
    import logging

    import mlflow.pyfunc
    from mlflow import MlflowClient

    root, name = tmp_path / "registry", "people"
    table = _table(0)
    first = _publish(root, table, 1.0, tmp_path)
    second = _publish(root, table, 0.01, tmp_path)
    registry.promote(root, first, name)
    tracking = Tracking("tracking.mlflow_uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient(tracking.uri, registry_uri=tracking.uri)
    logger = logging.getLogger("test_mlflow_mirror")

    synced = sync(client, root, name, logger, rows=table)
    assert synced["created"] == [first, second]
    versions = {v.tags[VERSION_TAG]: int(v.version) for v in client.search_model_versions(f"name='{name}'")}
    assert versions == {first: 1, second: 2}
    assert client.get_model_version_by_alias(name, ALIAS).tags[VERSION_TAG] == first
    # each version got a run holding its registry metadata
    run = client.get_run(client.get_model_version(name, "2").run_id)
    assert run.data.params["data.name"] == "people"
    assert run.data.metrics == {"f1": pytest.approx(0.8001)}
    assert run.data.tags["snaketrain.dataset_sha256"] == "ab" * 32

    # idempotent: nothing new, alias unchanged
    assert sync(client, root, name, logger)["created"] == []
    assert len(client.search_model_versions(f"name='{name}'")) == 2

    # production moves (deploy or rollback): the alias follows
    registry.promote(root, second, name)
    assert production_alias_command(root, name, tracking) == f"MLflow alias {ALIAS} of {name} -> version 2"
    assert client.get_model_version_by_alias(name, ALIAS).tags[VERSION_TAG] == second

    # the MLflow model directory predicts from raw rows like the inference path, categories included
    model_dir = write_mlflow_model(root, second, name)
    assert (model_dir / "MLmodel").is_file()
    rows = _table(1, 30).drop(columns="y")
    served = mlflow.pyfunc.load_model(str(model_dir)).predict(rows)
    expected = inference.predict(inference.load_version(root, second, name), rows).labels
    assert list(np.asarray(served)) == list(expected)
    signature = mlflow.models.get_model_info(str(model_dir)).signature
    assert {c.name: c.type.name for c in signature.inputs.inputs} == {
        "age": "long",
        "city": "string",
        "income": "double",
    }


def test_a_refusing_mlflow_leaves_the_alias_message_naming_the_setting_not_the_uri(tmp_path):
    pytest.importorskip("mlflow", reason="optional install: make setup-mlflow (make test installs it)")
    root = tmp_path / "registry"
    version = _publish(root, _table(0), 1.0, tmp_path)
    registry.promote(root, version, "people")
    tracking = Tracking("MLFLOW_TRACKING_URI", f"http://user:{SECRET}@127.0.0.1:9/")
    message = production_alias_command(root, "people", tracking)
    assert "was NOT moved (MLFLOW_TRACKING_URI" in message
    assert "sync_mlflow" in message
    assert SECRET not in message


def test_importing_the_mirror_does_not_import_mlflow_or_the_scientific_stack():
    # common.smk imports it at every Snakemake start (to know whether tracking is on)
    import subprocess
    import sys

    heavy = "mlflow", "pandas", "sklearn", "numpy"
    code = f"import sys, snaketrain.tracking.mlflow_mirror; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "family, library",
    [("xgboost", "xgboost"), ("lightgbm", "lightgbm"), ("catboost", "catboost"), ("spline_linear", "sklearn")],
)
def test_the_mlflow_model_dir_of_a_family_of_the_catalogue_lists_its_library_and_predicts_like_predict(
    tmp_path, family, library
):
    pytest.importorskip(library, reason=f"{library} comes with make setup-boost")
    pytest.importorskip("mlflow", reason="the MLflow mirror is an extra (make setup-mlflow)")
    import mlflow.pyfunc

    from snaketrain.estimators import build_estimator, library_version, without_threads
    from snaketrain.registry import inference
    from snaketrain.stages.build_features import fit_transform
    from tests.fitted_models import SETTINGS, rows

    train = rows(n=200)
    preprocessor, features, _, schema = fit_transform(train, train, "y", SETTINGS)
    model = build_estimator("m", {"estimator": family}, "binary", 0).fit(features.drop(columns="y"), train["y"])
    path = tmp_path / "pipeline.skops"
    pipeline = inference.make_pipeline(preprocessor, without_threads(model))
    inference.save_pipeline(pipeline, path, inference.trusted_types(family))
    meta = {
        "model": family,
        "task": "binary",
        "metrics": {},
        "estimator": {"estimator": family},
        "estimator_library": {"name": library, "version": library_version(library)},
        "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")},
    }
    root = tmp_path / "registry"
    version = registry.publish(root, {"pipeline.skops": path}, meta, "people")[0]
    model_dir = write_mlflow_model(root, version, "people", train)
    requirements = (model_dir / "requirements.txt").read_text()
    assert f"=={library_version(library)}" in requirements
    assert "xgboost-cpu" in requirements or {"sklearn": "scikit-learn"}.get(library, library) in requirements
    # the model's own classes (XGBoost's labels, the spline models) travel with it: it loads where snaketrain is not
    assert {"xgboost_labels.py", "spline_models.py"} <= {p.name for p in (model_dir / "code" / "snaketrain").iterdir()}
    loaded = mlflow.pyfunc.load_model(str(model_dir))
    scored = rows(n=20, seed=3).drop(columns="y")
    expected = inference.predict(inference.load_version(root, version, "people"), scored).labels
    assert list(loaded.predict(scored)) == list(expected)


FEATURE_CODE = """\
def add_features(df):
    df["red_x"] = df["x"].where(df["colour"] == "red", 0.0)
    df["n_squared"] = df["n"] ** 2
    return df
"""


def test_the_mlflow_model_dir_of_a_model_with_feature_code_runs_the_function_first_and_predicts_like_predict(tmp_path):
    pytest.importorskip("mlflow", reason="the MLflow mirror is an extra (make setup-mlflow)")
    import mlflow.pyfunc
    from mlflow.models import Model
    from sklearn.linear_model import LogisticRegression

    from snaketrain.custom_features import file_sha256
    from snaketrain.stages.build_features import fit_transform
    from tests.fitted_models import SETTINGS, rows

    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "mine.py").write_text(FEATURE_CODE)
    custom = {"file": "features/mine.py", "function": "add_features"}
    train = rows(n=200)
    preprocessor, features, _, schema = fit_transform(train, train, "y", {**SETTINGS, "custom": custom}, root=tmp_path)
    model = LogisticRegression().fit(features.drop(columns="y"), train["y"])
    path = tmp_path / "pipeline.skops"
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), path)
    meta = {
        "model": "logistic_regression",
        "task": "binary",
        "metrics": {},
        "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")},
        "custom_features": schema["custom"],
    }
    root = tmp_path / "registry"
    version = registry.publish(root, {"pipeline.skops": path}, meta, "people")[0]
    model_dir = write_mlflow_model(root, version, "people", train, project=tmp_path)

    sha = file_sha256(tmp_path / "features" / "mine.py")
    assert (model_dir / "code" / f"snaketrain_custom_{sha[:16]}.py").read_text() == FEATURE_CODE
    described = Model.load(str(model_dir))
    # clients send the raw columns; the function adds the rest
    assert described.signature.inputs.input_names() == ["colour", "n", "x"]
    assert described.metadata["custom_features"] == {**custom, "sha256": sha}
    # the columns in another order than the schema's, missing and unseen values: as the service takes them
    scored = rows(n=30, seed=3).drop(columns="y")[["x", "colour", "n"]]
    scored.loc[scored.index[:2], "colour"] = None
    scored.loc[scored.index[2], "colour"] = "ultraviolet"
    expected = inference.predict(inference.load_version(root, version, "people", project=tmp_path), scored).labels
    assert list(mlflow.pyfunc.load_model(str(model_dir)).predict(scored)) == list(expected)


def test_sync_skips_a_version_whose_feature_code_changed_and_mirrors_the_others(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="optional install: make setup-mlflow (make test installs it)")
    monkeypatch.chdir(tmp_path)  # the project (feature code) and the sqlite store's ./mlruns
    import logging

    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    from snaketrain.stages.build_features import fit_transform
    from tests.fitted_models import SETTINGS, rows

    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "mine.py").write_text(FEATURE_CODE)
    custom = {"file": "features/mine.py", "function": "add_features"}
    train = rows(n=200)
    preprocessor, features, _, schema = fit_transform(train, train, "y", {**SETTINGS, "custom": custom}, root=tmp_path)
    path = tmp_path / "pipeline.skops"
    model = LogisticRegression().fit(features.drop(columns="y"), train["y"])
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), path)
    meta = {"model": "logistic_regression", "task": "binary", "metrics": {}, "custom_features": schema["custom"]}
    meta["input_schema"] = {key: schema[key] for key in ("target", "columns", "dtypes")}
    root, name = tmp_path / "registry", "people"
    with_code = registry.publish(root, {"pipeline.skops": path}, meta, name)[0]
    plain = _publish(root, _table(0), 1.0, tmp_path)
    (tmp_path / "features" / "mine.py").write_text(FEATURE_CODE + "\n# edited after training\n")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}", registry_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")

    synced = sync(client, root, name, logging.getLogger("test_mlflow_mirror"), rows=_table(0))
    assert synced["skipped"] == [with_code] and synced["created"] == [plain]
