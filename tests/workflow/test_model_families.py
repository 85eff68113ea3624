"""The families users train beside scikit-learn's (XGBoost, LightGBM, CatBoost), on tables like theirs (text
columns, missing values), for classification and regression: tuned in parallel, compared, gated, registered,
deployed and batch-predicted; and the default config on a regression dataset, end to end."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.harness import copy_project, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

for library in ("xgboost", "lightgbm", "catboost"):
    pytest.importorskip(library, reason="the boosted families come with make setup-boost (make test installs them)")

# small budgets so that each run takes seconds; everything else is the families' defaults
OVERLAY = """\
data: {{name: {name}, source: file, path: data/{name}.csv, target: {target}}}
models: {models}
estimators:
  random_forest: {{params: {{n_estimators: 30}}}}
  xgboost: {{params: {{n_estimators: 60}}}}
  lightgbm: {{params: {{n_estimators: 60}}}}
  catboost: {{params: {{iterations: 60}}}}
tuning: {{cv: 3}}
predict: {{input: data/new_{name}.csv}}
"""


def customers(n=900, seed=0, regression=False):
    """A churn-like table: numbers with gaps, text categories with gaps, and a yes/no label (or a spend target)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], size=n)
    region = rng.choice(["north", "south", "east", "west", "centre"], size=n)
    usage = rng.gamma(2.0, 10.0, size=n)
    seats = rng.integers(1, 50, size=n).astype(float)
    score = 0.08 * usage - 0.05 * seats + np.where(plan == "pro", 1.5, 0) + rng.normal(scale=0.8, size=n)
    df = pd.DataFrame({"plan": plan, "region": region, "usage": usage, "seats": seats})
    if regression:
        df["spend"] = 20 * score + 100
    else:
        df["churned"] = np.where(score > np.median(score), "yes", "no")
    df.loc[rng.random(n) < 0.08, "usage"] = np.nan
    df.loc[rng.random(n) < 0.08, "region"] = None
    return df


def project(tmp_path, name, target, models, regression=False):
    workdir = copy_project(tmp_path / "project")
    (workdir / "data").mkdir()
    table = customers(regression=regression)
    table.to_csv(workdir / "data" / f"{name}.csv", index=False)
    table.drop(columns=[target]).head(25).to_csv(workdir / "data" / f"new_{name}.csv", index=False)
    write_overlay(workdir, name, target, models)
    return workdir


def write_overlay(workdir, name, target, models):
    overlay = OVERLAY.format(name=name, target=target, models="[" + ", ".join(models) + "]")
    (workdir / "config" / "user.yaml").write_text(overlay)


ARGS = ("--cores", "2", "--configfile", "config/user.yaml")


def production(workdir, name):
    pointer = json.loads((workdir / "registry" / "models" / name / "production.json").read_text())
    version = workdir / "registry" / "models" / name / "versions" / pointer["version"]
    return json.loads((version / "metadata.json").read_text())


def test_classification_with_text_and_gaps_trains_every_family_then_a_fourth_reruns_only_its_jobs(tmp_path):
    workdir = project(tmp_path, "churn", "churned", ["random_forest", "xgboost", "lightgbm"])
    out = snakemake(workdir, *ARGS).stdout
    comparison = pd.read_csv(workdir / "results" / "comparison" / "metrics.csv")
    assert sorted(comparison["model"]) == ["lightgbm", "random_forest", "xgboost"]
    assert (comparison["f1"] > 0.7).all()
    assert "quality gate: PASSED" in out and "[LightGBM]" not in out
    assert not (workdir / "catboost_info").exists()
    for family in ("xgboost", "lightgbm"):
        log = (workdir / "logs" / "train_model" / f"{family}.log").read_text()
        assert "early stopping (20 rounds without improvement on 10% of the training split)" in log
        resolved = json.loads((workdir / "results" / "estimators" / f"{family}.json").read_text())
        assert resolved["library"]["name"] == family and resolved["library"]["version"]

    # adding catboost plans its own jobs, then compare onwards: nothing upstream, no other model
    write_overlay(workdir, "churn", "churned", ["random_forest", "xgboost", "lightgbm", "catboost"])
    planned = planned_jobs(workdir, "--configfile", "config/user.yaml")
    assert planned["resolve_estimator"] == planned["tune_model"] == planned["train_model"] == 1
    assert planned["evaluate_model"] == 1 and planned["compare_models"] == 1
    assert not {"acquire_data", "validate_data", "split_data", "build_features"} & set(planned)
    snakemake(workdir, *ARGS)
    winner = json.loads((workdir / "results" / "comparison" / "best.json").read_text())["best_model"]
    meta = production(workdir, "churn")
    assert meta["model"] == winner
    assert meta["estimator_library"]["name"] in {"sklearn", "xgboost", "lightgbm", "catboost"}

    snakemake(workdir, "predict", *ARGS)
    predictions = pd.read_parquet(workdir / "results" / "predictions" / "new_churn.parquet")
    assert len(predictions) == 25 and set(predictions["prediction"]) <= {"yes", "no"}
    assert "Nothing to be done" in snakemake(workdir, "-n", *ARGS[2:]).stdout


@pytest.mark.parametrize("winner", ["xgboost", "lightgbm", "catboost"])
def test_each_boosted_family_is_registered_deployed_and_predicts_a_regression_target(tmp_path, winner):
    workdir = project(tmp_path, "spend", "spend", [winner], regression=True)
    out = snakemake(workdir, *ARGS).stdout
    assert "quality gate: PASSED" in out
    meta = production(workdir, "spend")
    assert meta["task"] == "regression" and meta["model"] == winner
    assert meta["estimator_library"]["name"] == winner
    snakemake(workdir, "predict", *ARGS)
    predictions = pd.read_parquet(workdir / "results" / "predictions" / "new_spend.parquet")
    assert predictions["prediction"].between(-1000, 1000).all() and len(predictions) == 25
    assert not (workdir / "catboost_info").exists()


def test_the_default_config_runs_a_regression_dataset_to_the_end(tmp_path):
    workdir = copy_project(tmp_path / "project")
    out = snakemake(workdir, "--cores", "2", "--config", "data={name: diabetes, builtin: diabetes}").stdout
    assert "quality gate: PASSED" in out
    comparison = pd.read_csv(workdir / "results" / "comparison" / "metrics.csv")
    assert sorted(comparison["model"]) == ["lightgbm", "spline_linear"]  # the default list
    linear = json.loads((workdir / "results" / "estimators" / "spline_linear.json").read_text())
    assert linear["estimator"] == "snaketrain.spline_models.SplineRidge"


def test_a_family_without_a_form_for_the_found_task_stops_the_run_once_after_validation(tmp_path):
    workdir = copy_project(tmp_path / "project")
    config = "data={name: diabetes, builtin: diabetes}", "models=[logistic_regression, random_forest]"
    result = snakemake(workdir, "--cores", "2", "--config", *config, check=False)
    assert result.returncode != 0
    assert "estimator 'logistic_regression' of model 'logistic_regression' has no regression form" in result.stdout
    assert result.stdout.count("Error in rule resolve_estimator") == 1  # no retry
    assert "Traceback" not in result.stdout
    assert not (workdir / "results" / "tuning").exists() and not (workdir / "registry").exists()


def test_a_family_without_a_form_for_the_configured_task_is_refused_before_any_job(tmp_path):
    workdir = copy_project(tmp_path / "project")
    config = "data={name: diabetes, builtin: diabetes, task: regression}", "models=[logistic_regression]"
    result = snakemake(workdir, "--cores", "2", "--config", *config, check=False)
    assert result.returncode != 0
    assert (
        "[config] estimator 'logistic_regression' of model 'logistic_regression' has no regression form"
        in result.stdout
    )
    assert 'File "' not in result.stdout and "Traceback" not in result.stdout
    assert not (workdir / "resources").exists()


def test_every_family_gives_the_same_bytes_with_any_cores(tmp_path):
    models = ["xgboost", "lightgbm", "catboost"]
    runs = []
    for cores in ("1", "2"):
        workdir = project(tmp_path / f"cores{cores}", "churn", "churned", models)
        snakemake(workdir, "--cores", cores, "--configfile", "config/user.yaml")
        runs.append(workdir)
    for model in models:
        for path in (f"results/models/{model}.joblib", f"results/evaluation/{model}/metrics.json"):
            assert (runs[0] / path).read_bytes() == (runs[1] / path).read_bytes(), path
    assert (runs[0] / "results/registry/pipeline.skops").read_bytes() == (
        runs[1] / "results/registry/pipeline.skops"
    ).read_bytes()
