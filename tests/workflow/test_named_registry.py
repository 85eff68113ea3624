"""Named models through the real CLI: three datasets in one project keep three production versions, a changed
input fails the gate naming the columns, predict and rollback_model work on the configured name, and a registry
in the flat layout of earlier releases is moved under its name by the first run that meets it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from tests.harness import snakemake
from tests.workflow.small_runs import NAME, SMALL_ARGS, small_project

from snaketrain.registry import model_registry as registry

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_registry"
CANCER_COLUMNS = ["mean radius", "mean texture", "mean smoothness", "worst area", "worst concavity"]


def overlay(name, path, target, thresholds):
    return (
        f"data:\n  name: {name}\n  source: file\n  path: {path}\n  target: {target}\n"
        "models: [ridge]\ntuning:\n  cv: 3\n"
        f"gate:\n  thresholds: {json.dumps(thresholds)}\n  tolerance: 1.0\n"
    )


def write_datasets(workdir):
    data = workdir / "data"
    data.mkdir()
    iris = load_iris(as_frame=True)
    flowers = iris.data.assign(species=iris.target.map(dict(enumerate(iris.target_names))))
    flowers.to_csv(data / "flowers.csv", index=False)
    cancer = load_breast_cancer(as_frame=True)
    cancer.data[CANCER_COLUMNS].assign(diagnosis=cancer.target).to_csv(data / "cancer.csv", index=False)
    diabetes = load_diabetes(as_frame=True)
    diabetes.data.assign(progression=diabetes.target).to_csv(data / "diabetes.csv", index=False)
    overlays = {
        "flowers": overlay("flowers", "data/flowers.csv", "species", {"accuracy": 0.5, "f1": 0.5}),
        "cancer": overlay("cancer", "data/cancer.csv", "diagnosis", {"accuracy": 0.5, "f1": 0.5}),
        "diabetes": overlay("diabetes", "data/diabetes.csv", "progression", {"r2": 0.1}),
    }
    for name, text in overlays.items():
        (workdir / "config" / f"{name}.yaml").write_text(text)


def run(workdir, *configfiles, target=(), check=True):
    files = [f"config/{name}.yaml" for name in configfiles]
    return snakemake(workdir, *target, "--cores", "2", "--configfile", *files, check=check)


def production(workdir, name):
    return registry.production(workdir / "registry", name)


@pytest.fixture(scope="module")
def three_datasets(tmp_path_factory):
    """One project directory, three datasets run one after another, each with its own overlay."""
    workdir = small_project(tmp_path_factory.mktemp("named") / "project")
    write_datasets(workdir)
    outputs = {name: run(workdir, name).stdout for name in ("flowers", "cancer", "diabetes")}
    return workdir, outputs


def test_three_datasets_end_with_three_names_each_in_production(three_datasets):
    workdir, outputs = three_datasets
    root = workdir / "registry"
    assert registry.names(root) == ["cancer", "diabetes", "flowers"]
    tasks = {}
    for name in ("flowers", "cancer", "diabetes"):
        pointer = production(workdir, name)
        assert pointer["previous"] is None  # nothing replaced another dataset's model
        meta = registry.metadata(root, pointer["version"], name)
        tasks[name] = meta["task"]
        assert meta["name"] == name and "pipeline.skops" in meta["files"]
        assert f"model name:   {name} (registry.model_name)" in outputs[name]
        assert f"registry/models/{name}/versions/{pointer['version']}/pipeline.skops" in outputs[name]
    assert tasks == {"flowers": "multiclass", "cancer": "binary", "diabetes": "regression"}
    # the history command lists every name
    listed = subprocess.run(
        [sys.executable, "-m", "snaketrain.orchestration.metrics_history", "--registry", str(root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in ("flowers", "cancer", "diabetes"):
        assert f"Metrics history of {name} in {root} (1 registered version(s)" in listed


def test_predict_uses_the_production_version_of_the_configured_name(three_datasets):
    workdir, _ = three_datasets
    rows = pd.read_csv(workdir / "data/flowers.csv").drop(columns="species").iloc[::15]
    rows.to_csv(workdir / "new_flowers.csv", index=False)
    (workdir / "config/predict.yaml").write_text("predict:\n  input: new_flowers.csv\n")
    run(workdir, "flowers", "predict", target=("predict",))
    scored = pd.read_parquet(workdir / "results/predictions/new_flowers.parquet")
    assert set(scored["prediction"]) <= {"setosa", "versicolor", "virginica"}
    assert len(scored) == len(rows)
    assert "flowers" in (workdir / "logs/predict/predict.log").read_text()


def test_changed_columns_fail_the_gate_naming_them(three_datasets, tmp_path):
    workdir = three_datasets[0]
    before = registry.production_path(workdir / "registry", "cancer").read_bytes()
    cancer = pd.read_csv(workdir / "data/cancer.csv")
    changed = cancer.drop(columns=["worst concavity"]).assign(**{"mean perimeter": cancer["mean radius"] * 6.3})
    changed.to_csv(workdir / "data/cancer.csv", index=False)
    out = run(workdir, "cancer").stdout
    decision = json.loads((workdir / "results/gate/decision.json").read_text())
    assert not decision["passed"] and decision["name"] == "cancer"
    check = next(c for c in decision["checks"] if c["check"] == "input schema vs production")
    assert check["verdict"] == "fail"
    assert check["changes"] == {"columns_added": ["mean perimeter"], "columns_removed": ["worst concavity"]}
    assert "quality gate: FAILED" in out
    assert "columns added: mean perimeter" in out and "columns removed: worst concavity" in out
    gate_page = (workdir / "results/report/gate.html").read_text()
    assert "columns added" in gate_page and "mean perimeter" in gate_page and "worst concavity" in gate_page
    assert registry.production_path(workdir / "registry", "cancer").read_bytes() == before
    # the other names were not touched, and allowing the change lets it through
    (workdir / "config/allow.yaml").write_text("gate:\n  allow_schema_change: true\n")
    out = run(workdir, "cancer", "allow").stdout
    assert "quality gate: PASSED" in out and "allowed by gate.allow_schema_change" in out
    assert production(workdir, "cancer")["previous"] == json.loads(before)["version"]


def test_rollback_model_goes_back_and_runs_each_time_it_is_asked(three_datasets):
    workdir = three_datasets[0]
    first = production(workdir, "flowers")["version"]
    (workdir / "config/unscaled.yaml").write_text("features:\n  scale: false\n")
    run(workdir, "flowers", "unscaled")
    second = production(workdir, "flowers")["version"]
    assert second != first
    out = run(workdir, "flowers", target=("rollback_model",)).stdout
    assert f"production of flowers is now {first} (rolled back from {second})" in out
    assert production(workdir, "flowers")["version"] == first
    assert json.loads((workdir / "results/rollback/receipt.json").read_text())["version"] == first
    # asked again (the receipt exists): it runs again, and with nothing earlier it refuses, saying why
    refused = run(workdir, "flowers", target=("rollback_model",), check=False)
    assert refused.returncode != 0
    assert "[rollback_model] model 'flowers' has no earlier production version to roll back to" in refused.stdout
    (workdir / "config/back.yaml").write_text(f"rollback:\n  to: '{second}'\n")
    run(workdir, "flowers", "back", target=("rollback_model",))
    assert production(workdir, "flowers")["version"] == second
    events = [e["event"] for e in registry.read_history(workdir / "registry", "flowers")]
    assert events[-2:] == ["rolled_back", "rolled_back"]
    assert production(workdir, "diabetes")["previous"] is None


def test_a_flat_registry_is_moved_under_its_name_by_the_first_run(tmp_path):
    workdir = small_project(tmp_path / "project")
    shutil.copytree(FIXTURE, workdir / "registry")
    flat = sorted(p.name for p in (FIXTURE / "versions").iterdir())
    flat_production = json.loads((FIXTURE / "production.json").read_text())["version"]
    out = snakemake(workdir, "--cores", "2", *SMALL_ARGS).stdout
    assert out.count("moved the registry registry from the flat layout") == 1
    root = workdir / "registry"
    versions = [v["version"] for v in registry.registered_versions(root, NAME)]
    assert set(flat) < set(versions) and len(versions) == 3
    assert production(workdir, NAME)["previous"] == flat_production
    decision = json.loads((workdir / "results/gate/decision.json").read_text())
    compared = {c["check"]: c for c in decision["checks"]}
    assert compared["input schema vs production"]["production_version"] == flat_production
    assert "registered before models were stored safely" in compared["vs production f1"]["reason"]
    (workdir / "config/tolerance.yaml").write_text("gate:\n  tolerance: 0.05\n")
    again = snakemake(workdir, "--cores", "2", *SMALL_ARGS, "config/tolerance.yaml").stdout
    assert "moved the registry" not in again
