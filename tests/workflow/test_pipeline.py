"""End-to-end runs of the real workflow: artifacts, reruns, branches, own data, lint."""

import json
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from tests.harness import ROOT, clone_run, copy_project, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
MODELS = ("spline_linear", "lightgbm")  # the default list (config/config.yaml)


def read(path):
    return json.loads(path.read_text())


def test_full_run_produces_sane_artifacts(default_run):
    d = default_run
    assert (d / "resources/data/breast_cancer.parquet").is_file()
    report = read(d / "results/validation/report.json")
    assert report["passed"] and report["task"] == "binary" and report["rows"] == 569
    train = pd.read_parquet(d / "results/split/train.parquet")
    test = pd.read_parquet(d / "results/split/test.parquet")
    assert len(train) + len(test) == 569 and len(test) == 114
    for model in MODELS:
        assert read(d / f"results/tuning/{model}/best_params.json")["model"] == model
        assert joblib.load(d / f"results/models/{model}.joblib").predict(
            pd.read_parquet(d / "results/features/test.parquet").drop(columns="target")
        ).shape == (114,)
        metrics = read(d / f"results/evaluation/{model}/metrics.json")["metrics"]
        assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        assert (d / f"results/evaluation/{model}/plot.png").read_bytes()[:4] == b"\x89PNG"
        assert (d / f"logs/tune_model/{model}.log").stat().st_size > 0
        assert (d / f"benchmarks/train_model/{model}.tsv").is_file()
    best = read(d / "results/comparison/best.json")
    assert best["metrics"]["accuracy"] >= 0.93
    decision = read(d / "results/gate/decision.json")
    assert decision["passed"] and decision["model"] == best["best_model"]


def test_best_model_is_registered_and_in_production(default_run):
    d = default_run
    version = read(d / "results/registry/receipt.json")["version"]
    assert read(d / "results/deploy/receipt.json")["version"] == version
    assert read(d / "registry/models/breast_cancer/production.json")["version"] == version
    meta = read(d / f"registry/models/breast_cancer/versions/{version}/metadata.json")
    assert meta["model"] == read(d / "results/comparison/best.json")["best_model"]
    assert meta["dataset_sha256"] == read(d / "results/validation/report.json")["dataset_sha256"]
    assert {"scikit-learn", "pandas", "python"} <= set(meta["packages"])
    assert set(meta["config"]) >= {"data", "split", "features", "tuning"}
    assert set(meta["files"]) == {"pipeline.skops", "model.joblib", "preprocessor.joblib", "profile.json"}
    assert meta["name"] == "breast_cancer"
    assert "snaketrain summary" in (d / "run.out").read_text()
    assert f"registry/models/breast_cancer/versions/{version}/pipeline.skops" in (d / "run.out").read_text()


def test_second_run_does_nothing(default_run):
    assert planned_jobs(default_run) == {}
    out = snakemake(default_run, "--cores", "2").stdout
    assert "Nothing to be done" in out


def edit_config(workdir, change):
    path = workdir / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_changing_one_search_space_reruns_only_that_model(default_run, tmp_path):
    d = clone_run(default_run, tmp_path / "run")
    edit_config(d, lambda c: c["estimators"].update(lightgbm={"search_space": {"num_leaves": [4, 8]}}))
    assert planned_jobs(d) == {
        "resolve_estimator": 1,
        "tune_model": 1,
        "train_model": 1,
        "evaluate_model": 1,
        "compare_models": 1,
        "quality_gate": 1,
        "all": 1,
    }
    out = snakemake(d, "-n").stdout
    assert "results/tuning/lightgbm/best_params.json" in out
    assert "results/tuning/spline_linear" not in out


def test_changing_a_gate_threshold_reruns_only_the_gate_and_what_follows(default_run, tmp_path):
    d = clone_run(default_run, tmp_path / "run")
    edit_config(d, lambda c: c["gate"]["thresholds"].update(accuracy=0.91))
    assert planned_jobs(d) == {"quality_gate": 1, "all": 1}
    snakemake(d, "--cores", "2")
    # the decision is unchanged, but the branch after the gate runs again (same version, idempotent)
    version = read(d / "results/deploy/receipt.json")["version"]
    assert version == read(default_run / "results/deploy/receipt.json")["version"]
    assert planned_jobs(d) == {}


def test_editing_a_stage_module_reruns_its_rule_and_what_follows(default_run, tmp_path):
    d = clone_run(default_run, tmp_path / "run")
    with open(d / "scripts/snaketrain/stages/compare_models.py", "a") as fh:
        fh.write("\n# a change to the stage's code\n")
    assert planned_jobs(d) == {"compare_models": 1, "quality_gate": 1, "all": 1}


def test_impossible_gate_raises_alert_and_leaves_production(default_run, tmp_path):
    d = clone_run(default_run, tmp_path / "run")
    before = (d / "registry/models/breast_cancer/production.json").read_bytes()
    versions_before = sorted(p.name for p in (d / "registry/models/breast_cancer/versions").iterdir())
    edit_config(d, lambda c: c["gate"]["thresholds"].update(accuracy=0.9999))
    result = snakemake(d, "--cores", "2")
    assert result.returncode == 0
    assert "quality gate: FAILED - the model was NOT promoted" in result.stdout
    alert = read(d / "results/alerts/alert.json")
    assert alert["event"] == "quality_gate_failed" and "accuracy" in alert["text"]
    assert (d / "registry/models/breast_cancer/production.json").read_bytes() == before
    assert sorted(p.name for p in (d / "registry/models/breast_cancer/versions").iterdir()) == versions_before
    assert "NOT promoted" in (d / "logs/raise_alert/raise_alert.log").read_text()


def user_csv(path, n=300, seed=5):
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, size=n)
    region = rng.choice(["north", "south", "east", "west"], size=n)
    plan = rng.choice(["basic", "plus", None], size=n)
    tenure = rng.integers(1, 60, size=n).astype(float)
    churn = (income + (region == "south") * 20 - tenure / 3 + rng.normal(0, 8, size=n)) > 45
    df = pd.DataFrame({"customer_id": np.arange(n), "income": income, "region": region, "plan": plan, "tenure": tenure})
    df["churned"] = np.where(churn, "yes", "no")
    df.loc[::9, "income"] = np.nan
    df.loc[::11, "region"] = None
    df.to_csv(path, sep=";", index=False)


def test_own_csv_with_categories_and_missing_values_runs_to_the_end(project):
    user_csv(project / "customers.csv")
    overlay = {
        "data": {"name": "churn", "source": "file", "path": "customers.csv", "delimiter": ";", "target": "churned"},
        "features": {"drop": ["customer_id"]},
        "gate": {"thresholds": {"accuracy": 0.6, "f1": 0.5}},
        "estimators": {"lightgbm": {"params": {"n_estimators": 50}}},
        "predict": {"input": "customers.csv"},
    }
    (project / "config/churn.yaml").write_text(yaml.safe_dump(overlay))
    snakemake(project, "--cores", "2", "--configfile", "config/churn.yaml")
    schema = read(project / "results/features/schema.json")
    assert schema["columns"]["region"] == "categorical" and "customer_id" not in schema["columns"]
    assert read(project / "results/gate/decision.json")["passed"]
    # the documented batch-scoring target uses the production model on the user's file
    snakemake(project, "predict", "--cores", "2", "--configfile", "config/churn.yaml")
    predictions = pd.read_parquet(project / "results/predictions/customers.parquet")
    assert len(predictions) == 300 and set(predictions["prediction"]) <= {"yes", "no"}
    assert {"proba_no", "proba_yes"} <= set(predictions.columns)


def test_config_error_names_the_key_before_any_job(project):
    edit_config(project, lambda c: c["split"].update(test_size=1.5))
    result = snakemake(project, "-n", check=False)
    assert result.returncode != 0
    assert "split.test_size is 1.5, out of range: it must be < 1" in result.stdout


def stdout_of(workdir, *args):
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_dag_rulegraph_and_mermaid_print_clean_graphs(default_run):
    for flag in ("--dag", "--rulegraph"):
        dot = stdout_of(default_run, flag)
        assert dot.startswith("digraph snakemake_dag") and "quality_gate" in dot
        if shutil.which("dot"):
            subprocess.run(["dot", "-Tsvg"], input=dot, text=True, check=True, capture_output=True)
    mermaid = stdout_of(default_run, "--dag", "mermaid-js")
    assert "flowchart" in mermaid and "quality_gate" in mermaid


def test_lint_and_format_are_clean():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    snakefmt = shutil.which("snakefmt", path=str(ROOT / ".venv/bin")) or shutil.which("snakefmt")
    fmt = subprocess.run([snakefmt, "--check", "workflow"], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stderr


def test_project_copy_is_self_contained(tmp_path):
    # a checkout needs nothing from outside the repository to plan the run
    d = copy_project(tmp_path / "p")
    assert planned_jobs(d)["tune_model"] == len(MODELS)
