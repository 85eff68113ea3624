"""Same config, same bytes: clean runs in different directories and with different core counts agree on
every artifact except the few files that carry a timestamp; and the registry refuses a changed file."""

import json

import pytest
from tests.harness import clone_run, snakemake
from tests.workflow.small_runs import VOLATILE_FILES, artifacts, differences, small_project, small_run

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run_cores_1(tmp_path_factory):
    workdir = small_project(tmp_path_factory.mktemp("cores1") / "project")
    snakemake(workdir, "--cores", "1", "--configfile", "config/small.yaml")
    return workdir


@pytest.fixture(scope="module")
def run_cores_4(tmp_path_factory):
    workdir = small_project(tmp_path_factory.mktemp("cores4") / "project")
    snakemake(workdir, "--cores", "4", "--configfile", "config/small.yaml")
    return workdir


def without(path, key):
    """A JSON file's content without one timestamp key, at the top or in each index entry."""
    data = json.loads(path.read_text())
    if "versions" in data:
        return {version: {k: v for k, v in entry.items() if k != key} for version, entry in data["versions"].items()}
    data.pop(key)
    return data


def test_two_clean_runs_in_different_directories_are_byte_identical(tmp_path_factory, run_cores_1):
    first = small_run(tmp_path_factory)
    assert first != run_cores_1
    compared = artifacts(first)
    # the comparison covers every kind of artifact, not an empty set
    for expected in (
        "resources/data/breast_cancer.parquet",
        "results/features/train.parquet",
        "results/features/preprocessor.joblib",
        "results/models/random_forest.joblib",
        "results/evaluation/logistic_regression/metrics.json",
        "results/evaluation/logistic_regression/plot.png",
        "results/comparison/metrics.csv",
        "results/gate/decision.json",
    ):
        assert expected in compared
    assert any(name.startswith("registry/models/breast_cancer/versions/") for name in compared)
    assert differences(first, run_cores_1) == []


def test_cores_1_and_cores_4_give_the_same_bytes(run_cores_1, run_cores_4):
    assert differences(run_cores_1, run_cores_4) == []


def test_timestamped_files_differ_only_in_their_timestamps(tmp_path_factory, run_cores_1):
    first = small_run(tmp_path_factory)
    for name, key in (
        ("registry/models/breast_cancer/production.json", "promoted_at"),
        ("registry/models/breast_cancer/index.json", "registered_at"),
        ("results/deploy/receipt.json", "promoted_at"),
        ("results/registry/receipt.json", "registered_at"),
    ):
        assert name in VOLATILE_FILES
        assert without(first / name, key) == without(run_cores_1 / name, key), name
    # the registry version id is a content hash: the same in both runs
    version = json.loads((first / "registry/models/breast_cancer/production.json").read_text())["version"]
    assert version == json.loads((run_cores_1 / "registry/models/breast_cancer/production.json").read_text())["version"]


def test_predict_refuses_a_model_file_changed_after_registration(tmp_path_factory, tmp_path):
    workdir = clone_run(small_run(tmp_path_factory), tmp_path / "tampered")
    version = json.loads((workdir / "registry/models/breast_cancer/production.json").read_text())["version"]
    model = workdir / "registry/models/breast_cancer/versions" / version / "model.joblib"
    model.write_bytes(model.read_bytes() + b"\0")
    (workdir / "new.csv").write_text("x\n")
    (workdir / "config/predict.yaml").write_text("predict:\n  input: new.csv\n")
    result = snakemake(
        workdir, "predict", "--cores", "1", "--configfile", "config/small.yaml", "config/predict.yaml", check=False
    )
    assert result.returncode != 0
    out = result.stdout
    assert f"[registry] file model.joblib of version {version} is missing or was changed after registration" in out
    assert "sha256 mismatch" in out
    assert f"where: registry/models/breast_cancer/versions/{version}/model.joblib" in out
    assert "fix: restore the file from a backup, or register the model again" in out
    assert "Traceback (most recent call last)" not in out
    assert not (workdir / "results/predictions/new.parquet").exists()


def test_gate_refuses_a_production_file_changed_after_registration(tmp_path_factory, tmp_path):
    workdir = clone_run(small_run(tmp_path_factory), tmp_path / "tampered")
    version = json.loads((workdir / "registry/models/breast_cancer/production.json").read_text())["version"]
    preprocessor = workdir / "registry/models/breast_cancer/versions" / version / "preprocessor.joblib"
    preprocessor.write_bytes(preprocessor.read_bytes()[:-1])
    before = (workdir / "registry/models/breast_cancer/production.json").read_bytes()
    # a changed tolerance reruns the gate, which scores the production model first
    (workdir / "config/gate.yaml").write_text("gate:\n  tolerance: 0.02\n")
    result = snakemake(
        workdir, "--cores", "1", "--configfile", "config/small.yaml", "config/gate.yaml", check=False
    )
    assert result.returncode != 0
    out = result.stdout
    assert f"[registry] file preprocessor.joblib of version {version} is missing or was changed" in out
    assert "snaketrain: the run stopped" in out
    assert "Traceback (most recent call last)" not in out
    assert (workdir / "registry/models/breast_cancer/production.json").read_bytes() == before
