"""MLflow as a real option: runs of the workflow mirrored to a real MLflow tracking server on loopback and to a
plain sqlite:/// URI, read back through MlflowClient; MLflow down (the run succeeds, warns, sync_mlflow levels
it later); rollback moves the alias; `mlflow models serve` answers like the `predict` target.

The tracking URIs carry a password; every file the runs leave and everything they print is scanned for it."""

import json
import subprocess

import pandas as pd
import pytest
import requests
from tests.harness import clone_run, snakemake
from tests.mlflow_server import free_port, model_server, tracking_server
from tests.workflow.small_runs import SMALL_ARGS, release_branch, small_run

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slow,
]
mlflow = pytest.importorskip("mlflow", reason="optional install: make setup-mlflow (make test installs it)")

from mlflow import MlflowClient  # noqa: E402 - after the optional-install check

from snaketrain.registry import model_registry as registry  # noqa: E402
from snaketrain.tracking.mlflow_mirror import ALIAS, VERSION_TAG  # noqa: E402
from snaketrain.table_io import read_json  # noqa: E402

TOKEN = "mlflowpass-3e9d7a15"
NAME = "breast_cancer"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = tracking_server(tmp_path_factory.mktemp("mlflow-server")).start()
    yield process
    process.stop()


def secret_uri(port):
    # a password in the URI: the server does not check it, the pipeline must never write or print it
    return f"http://snaketrain:{TOKEN}@127.0.0.1:{port}"


def leaks(workdir, outputs):
    found = [str(p) for p in sorted(workdir.rglob("*")) if p.is_file() and TOKEN.encode() in p.read_bytes()]
    return found + [f"output {n}" for n, text in enumerate(outputs) if TOKEN in text]


def versions_by_tag(client):
    return {v.tags[VERSION_TAG]: int(v.version) for v in client.search_model_versions(f"name='{NAME}'")}


def alias_version(client):
    return client.get_model_version_by_alias(NAME, ALIAS).tags[VERSION_TAG]


def commit_project(workdir):
    """Make the copy a git checkout, so that runs record a commit."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=workdir, check=True)
    subprocess.run([*git, "add", "workflow", "config"], cwd=workdir, check=True)
    subprocess.run([*git, "commit", "-qm", "project"], cwd=workdir, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True).stdout.strip()


def test_a_run_is_mirrored_to_a_tracking_server_and_rollback_moves_the_alias(tmp_path_factory, tmp_path, server):
    # a registry with the run's runner-up in production: the run registers and deploys its best model over it
    workdir = release_branch(small_run(tmp_path_factory), tmp_path / "project")
    commit = commit_project(workdir)
    root = workdir / "registry"
    runner_up = registry.production(root, NAME)["version"]
    env = {"MLFLOW_TRACKING_URI": secret_uri(server.port)}
    outputs = [snakemake(workdir, "--cores", "2", *SMALL_ARGS, env=env).stdout]

    receipt = read_json(workdir / "results/mlflow/receipt.json")
    best = registry.production(root, NAME)["version"]
    assert best != runner_up
    assert receipt["mirrored"] is True
    assert receipt["setting"] == "MLFLOW_TRACKING_URI"
    assert f"mlflow:       run {receipt['run_id']} in experiment {NAME}" in outputs[0]

    client = MlflowClient(server.url, registry_uri=server.url)
    run = client.get_run(receipt["run_id"])
    decision = read_json(workdir / "results/gate/decision.json")
    best_metrics = read_json(workdir / f"results/evaluation/{decision['model']}/metrics.json")["metrics"]
    # the config's params, the gated model's test metrics, the tags
    assert run.data.params["data.name"] == NAME
    assert run.data.params["gate.confidence"] == "0.95"
    assert json.loads(run.data.params["models"]) == ["logistic_regression", "random_forest"]
    assert "tracking.mlflow_uri" not in run.data.params
    assert run.data.metrics == pytest.approx(best_metrics)
    assert run.data.tags["snaketrain.dataset_sha256"] == read_json(workdir / "results/validation/report.json")[
        "dataset_sha256"
    ]
    assert run.data.tags["snaketrain.git_commit"] == commit
    assert run.data.tags[VERSION_TAG] == best
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"validation", "comparison", "gate", "model"}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "validation")] == ["validation/report.json"]
    # one nested run per model, with its test metrics and diagnostic plots
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert sorted(child.info.run_name for child in children) == ["logistic_regression", "random_forest"]
    for child in children:
        metrics = read_json(workdir / f"results/evaluation/{child.info.run_name}/metrics.json")["metrics"]
        assert child.data.metrics == pytest.approx(metrics)
        plots = {a.path for a in client.list_artifacts(child.info.run_id, "plots")}
        assert plots == {"plots/plot.png", "plots/importance.png"}

    # both registry versions are MLflow versions; the alias points at our production version
    assert versions_by_tag(client) == {runner_up: 1, best: 2}
    assert client.get_model_version(NAME, "2").run_id == run.info.run_id
    assert alias_version(client) == best

    # rollback (the workflow's target): production back to the previous version, and the alias with it
    rolled = snakemake(workdir, "--cores", "1", "rollback_model", *SMALL_ARGS, env=env)
    outputs.append(rolled.stdout)
    assert registry.production(root, NAME)["version"] == runner_up
    assert f"MLflow alias {ALIAS} of {NAME} -> version 1" in rolled.stdout
    assert alias_version(client) == runner_up

    # sync_mlflow on a level MLflow adds nothing
    sync = snakemake(workdir, "--cores", "1", "sync_mlflow", *SMALL_ARGS, env=env)
    outputs.append(sync.stdout)
    assert f"MLflow (MLFLOW_TRACKING_URI) is level with the registry for {NAME}: 2 version(s), 0 added now" in sync.stdout
    assert versions_by_tag(client) == {runner_up: 1, best: 2}
    assert leaks(workdir, outputs) == []


def test_with_mlflow_down_the_run_succeeds_warns_and_sync_mlflow_brings_it_level(tmp_path_factory, tmp_path):
    workdir = clone_run(small_run(tmp_path_factory), tmp_path / "project")
    port = free_port()  # nothing listens there yet
    env = {"MLFLOW_TRACKING_URI": secret_uri(port)}
    production = registry.production_path(workdir / "registry", NAME).read_bytes()
    run = snakemake(workdir, "--cores", "2", *SMALL_ARGS, env=env)
    outputs = [run.stdout]

    version = registry.production(workdir / "registry", NAME)["version"]
    assert registry.production_path(workdir / "registry", NAME).read_bytes() == production
    receipt = read_json(workdir / "results/mlflow/receipt.json")
    assert receipt["mirrored"] is False
    assert receipt["not_mirrored"] == ["this run (params, metrics, plots)", f"registry version {version}", "alias production"]
    assert "WARNING: NOT mirrored to MLflow (MLFLOW_TRACKING_URI)" in run.stdout
    assert "re-sync: snakemake --cores 1 sync_mlflow" in run.stdout
    # the MLflow model directory is written locally all the same
    assert (registry.version_dir(workdir / "registry", version, NAME) / "mlflow/MLmodel").is_file()

    # sync_mlflow while MLflow is still down: a clear failure naming the setting
    refused = snakemake(workdir, "--cores", "1", "sync_mlflow", *SMALL_ARGS, env=env, check=False)
    outputs.append(refused.stdout)
    assert refused.returncode != 0
    assert "[sync_mlflow] MLflow (MLFLOW_TRACKING_URI) refused" in refused.stdout

    server = tracking_server(tmp_path / "mlflow", port).start()
    try:
        synced = snakemake(workdir, "--cores", "1", "sync_mlflow", *SMALL_ARGS, env=env)
        outputs.append(synced.stdout)
        assert "1 version(s), 1 added now; alias production -> version 1" in synced.stdout
        client = MlflowClient(server.url, registry_uri=server.url)
        assert versions_by_tag(client) == {version: 1}
        assert alias_version(client) == version
        again = snakemake(workdir, "--cores", "1", "sync_mlflow", *SMALL_ARGS, env=env)
        outputs.append(again.stdout)
        assert "1 version(s), 0 added now" in again.stdout
        assert versions_by_tag(client) == {version: 1}
    finally:
        server.stop()
    assert leaks(workdir, outputs) == []


def test_a_sqlite_uri_mirrors_and_mlflow_models_serve_answers_like_predict(tmp_path_factory, tmp_path):
    workdir = clone_run(small_run(tmp_path_factory), tmp_path / "project")
    (workdir / "config/mlflow.yaml").write_text("tracking:\n  mlflow_uri: sqlite:///mlflow.db\n")
    snakemake(workdir, "--cores", "2", *SMALL_ARGS, "config/mlflow.yaml")

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    receipt = read_json(workdir / "results/mlflow/receipt.json")
    assert receipt["mirrored"] is True and receipt["setting"] == "tracking.mlflow_uri"
    run = client.get_run(receipt["run_id"])
    assert run.data.params["split.test_size"] == "0.2"
    assert run.data.tags["snaketrain.gate"] == "passed"
    version = registry.production(workdir / "registry", NAME)["version"]
    assert alias_version(client) == version

    # rows as a user would send them: raw columns, no target
    rows = pd.read_parquet(workdir / "results/split/test.parquet").drop(columns="target").head(40)
    rows.to_csv(workdir / "rows.csv", index=False)
    snakemake(workdir, "predict", "--cores", "1", *SMALL_ARGS, "config/mlflow.yaml", "--config", "predict={input: rows.csv}")
    expected = pd.read_parquet(workdir / "results/predictions/rows.parquet")["prediction"].tolist()

    serving = model_server(registry.version_dir(workdir / "registry", version, NAME) / "mlflow", tmp_path / "serve.log").start()
    try:
        payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        answer = requests.post(f"{serving.url}/invocations", json=payload, timeout=60)
    finally:
        serving.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == expected

    # a failed gate is mirrored too (a run tagged failed); no version is added and the alias stays
    (workdir / "config/strict.yaml").write_text("gate:\n  thresholds:\n    f1: 1.0\n")
    snakemake(workdir, "--cores", "2", *SMALL_ARGS, "config/mlflow.yaml", "config/strict.yaml")
    failed = read_json(workdir / "results/mlflow/receipt.json")
    assert failed["mirrored"] is True and failed["registry_version"] is None
    assert client.get_run(failed["run_id"]).data.tags["snaketrain.gate"] == "failed"
    assert versions_by_tag(client) == {version: 1}
    assert alias_version(client) == version
