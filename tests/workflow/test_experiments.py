"""Experiments (config/experiments.yaml): the layout, work shared between experiments, subsets, sweeps, the table,
one promotion per name, a failing experiment beside passing ones, and the refusals before any job runs."""

import csv
import json
import os
import shutil

import pytest

from tests.harness import clone_run, copy_project, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

SMALL = """\
models: [linear, random_forest]
estimators:
  random_forest:
    estimator: random_forest
    params: {n_estimators: 20}
    search_space:
      max_depth: [null, 4]
tuning:
  cv: 3
"""
ARGS = ("--cores", "2", "--configfile", "config/small.yaml")
EXPERIMENTS = """\
experiments:
  baseline: {}
  forest_only: {models: [random_forest]}
  deeper: {estimators: {random_forest: {params: {n_estimators: 30}}}}
  folds: {sweep: {tuning.cv: [2, 3]}}
"""
NAMES = ["baseline", "forest_only", "deeper", "folds-tuning_cv-2", "folds-tuning_cv-3"]


def project_with(tmp_path, experiments=EXPERIMENTS, name="project"):
    workdir = copy_project(tmp_path / name)
    (workdir / "config" / "small.yaml").write_text(SMALL)
    (workdir / "config" / "experiments.yaml").write_text(experiments)
    return workdir


@pytest.fixture(scope="module")
def experiments_run(tmp_path_factory):
    workdir = project_with(tmp_path_factory.mktemp("experiments"))
    result = snakemake(workdir, *ARGS)
    (workdir / "run.out").write_text(result.stdout)
    return workdir


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def table_command(workdir, *args):
    """`snaketrain experiments` as a user runs it in the project (its own checkout's code)."""
    import subprocess
    import sys

    from tests.harness import checkout_env

    env = {**os.environ, **checkout_env(workdir)}
    command = [sys.executable, "-m", "snaketrain.orchestration.cli", "experiments", *ARGS[2:], *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=True).stdout


def test_shared_work_is_planned_once(tmp_path):
    jobs = planned_jobs(project_with(tmp_path), *ARGS)
    # one dataset, validated once; one split and feature set (no experiment changes them)
    assert jobs["acquire_data"] == jobs["validate_data"] == jobs["split_data"] == jobs["build_features"] == 1
    # fits: linear (3 folds: baseline, deeper, folds-3), linear (2 folds), random_forest 20 trees (3 folds: baseline,
    # forest_only, folds-3), random_forest 30 trees, random_forest (2 folds)
    assert jobs["tune_model"] == jobs["train_model"] == jobs["evaluate_model"] == 5
    assert jobs["compare_models"] == jobs["quality_gate"] == jobs["summarize_run"] == 5
    assert jobs["deploy_model"] == 1  # one registered name
    assert jobs["compare_experiments"] == 1


def test_each_experiment_has_its_folder_and_the_single_config_paths_are_unused(experiments_run):
    for name in NAMES:
        folder = experiments_run / "results" / name
        assert (folder / "comparison" / "metrics.csv").is_file()
        assert (folder / "gate" / "decision.json").is_file()
        assert (folder / "registry" / "receipt.json").is_file()
        assert (experiments_run / "logs" / name / "quality_gate" / "quality_gate.log").is_file()
        assert (experiments_run / "benchmarks" / name / "compare_models" / "compare_models.tsv").is_file()
    assert not (experiments_run / "results" / "comparison").exists()
    assert (experiments_run / "results" / "experiments.csv").is_file()
    assert (experiments_run / "results" / "report" / "experiments.html").is_file()


def test_the_table_shows_changed_parameters_metrics_and_outcome(experiments_run):
    rows = read_csv(experiments_run / "results" / "experiments.csv")
    assert sorted(row["experiment"] for row in rows) == sorted(NAMES)
    columns = list(rows[0])
    # only what the experiments set, each a column
    assert [c for c in columns if "." in c or c == "models"] == [
        "estimators.random_forest.params.n_estimators",
        "models",
        "tuning.cv",
    ]
    by_name = {row["experiment"]: row for row in rows}
    assert by_name["deeper"]["estimators.random_forest.params.n_estimators"] == "30"
    assert by_name["baseline"]["tuning.cv"] == "-"
    assert by_name["folds-tuning_cv-2"]["tuning.cv"] == "2"
    assert by_name["forest_only"]["model:linear"] == "-"  # it trains no linear model
    for row in rows:
        assert row["gate"] == "passed" and row["status"] == "done" and len(row["version"]) == 16
        assert row["delta_to_production"] == "-"  # nothing was in production when the gates compared
    scores = [float(row[f"model:{row['best_model']}"]) for row in rows]
    assert scores == sorted(scores, reverse=True)  # best first by the selection metric (f1)


def test_one_promotion_for_the_name_the_best_experiment(experiments_run):
    receipt = json.loads((experiments_run / "results/_deploy/breast_cancer/deploy/receipt.json").read_text())
    candidates = receipt["candidates"]
    assert sorted(c["experiment"] for c in candidates) == sorted(NAMES)
    best = max(c["value"] for c in candidates)
    assert receipt["experiment"] == min(c["experiment"] for c in candidates if c["value"] == best)
    history = (experiments_run / "registry/models/breast_cancer/history.jsonl").read_text().splitlines()
    promoted = [json.loads(line) for line in history if json.loads(line)["event"] == "promoted"]
    assert [event["version"] for event in promoted] == [receipt["version"]]
    assert (
        "production " + receipt["version"] + " from experiment " + receipt["experiment"]
        in (experiments_run / "run.out").read_text()
    )


def test_nothing_to_do_after_a_run(experiments_run):
    assert planned_jobs(experiments_run, *ARGS) == {}


def test_adding_an_experiment_runs_only_its_own_jobs(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "added")
    with open(workdir / "config" / "experiments.yaml", "a") as fh:
        fh.write("  shallow: {estimators: {random_forest: {params: {n_estimators: 10}}}}\n")
    jobs = planned_jobs(workdir, *ARGS)
    # its random forest is new; its linear model is baseline's. The name's deploy compares one more candidate.
    assert jobs["tune_model"] == 1 and jobs["compare_models"] == 1 and jobs["quality_gate"] == 1
    assert jobs["deploy_model"] == 1 and jobs["compare_experiments"] == 1
    assert "acquire_data" not in jobs and "build_features" not in jobs


def test_removing_an_experiment_leaves_the_others_untouched(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "removed")
    text = (workdir / "config" / "experiments.yaml").read_text()
    (workdir / "config" / "experiments.yaml").write_text(text.replace("  deeper: {", "  # deeper: {"))
    jobs = planned_jobs(workdir, *ARGS)
    assert set(jobs) <= {"deploy_model", "compare_experiments", "all"}


def test_a_base_change_reruns_the_experiments_that_inherit_it_only(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "base-changed")
    small = workdir / "config" / "small.yaml"
    small.write_text(small.read_text().replace("n_estimators: 20", "n_estimators: 25"))
    out = snakemake(workdir, "-n", *ARGS).stdout
    reruns = {line.split("experiment=")[1] for line in out.splitlines() if "wildcards: experiment=" in line}
    # deeper sets its own n_estimators: nothing of it reruns
    assert reruns == {"baseline", "forest_only", "folds-tuning_cv-2", "folds-tuning_cv-3"}
    assert planned_jobs(workdir, *ARGS)["tune_model"] == 2  # the 3-fold and the 2-fold forests


def test_only_runs_a_subset(tmp_path):
    jobs = planned_jobs(project_with(tmp_path), *ARGS, "--config", "only=forest_only,deeper")
    assert jobs["compare_models"] == 2 and jobs["tune_model"] == 3  # forest_only's forest, deeper's two models


def test_a_failing_experiment_does_not_stop_the_others(tmp_path):
    experiments = """\
experiments:
  good: {models: [linear]}
  own_name: {models: [linear], registry: {model_name: other_model}}
  broken: {models: [knn], estimators: {knn: {params: {n_neighbors: 2000}, search_space: {}}}}
"""
    workdir = project_with(tmp_path, experiments)
    result = snakemake(workdir, *ARGS, check=False)
    assert result.returncode != 0
    # the run wrote no table (compare_experiments did not finish); the command prints each experiment's state
    assert not (workdir / "results" / "experiments.csv").exists()
    assert "did not finish:" in result.stdout and "broken: failed at train_model (knn)" in result.stdout
    rows = {row["experiment"]: row for row in csv.DictReader(table_command(workdir, "--csv").splitlines())}
    assert rows["good"]["gate"] == rows["own_name"]["gate"] == "passed"
    # the decision threshold's cross-validation predicts in train_model: a knn asking for more neighbours than rows
    # fails there (it failed at evaluate_model before thresholds)
    assert rows["broken"]["status"].startswith("failed at train_model (knn): ")
    assert "n_neighbors" in rows["broken"]["status"]
    # the experiment with its own name deployed; breast_cancer's deploy waits for all of its experiments
    assert (workdir / "registry/models/other_model/production.json").is_file()
    assert not (workdir / "registry/models/breast_cancer/production.json").exists()
    assert "production of breast_cancer did not move" in result.stdout
    assert "--config only=good" in result.stdout
    alert = json.loads((workdir / "logs/alerts/run_failed.json").read_text())
    assert [e["experiment"] for e in alert["failed_experiments"]] == ["broken"]
    # the command the summary gives promotes the best of the others
    snakemake(workdir, *ARGS, "--config", "only=good")
    assert (workdir / "registry/models/breast_cancer/production.json").is_file()


@pytest.mark.parametrize(
    ("experiments", "expected"),
    [
        (
            "experiments:\n  a: {}\n  b: {data: {builtin: wine}}\n",
            "experiments a and b give data.name breast_cancer different sources",
        ),
        ("experiments:\n  a: {tuning: {cv: 1}}\n", "experiment a: tuning.cv is 1, out of range"),
        ("experiments:\n  a: {tunning: {cv: 3}}\n", "experiment a: unknown config key tunning"),
        (
            "experiments:\n  big: {sweep: {tuning.cv: [2, 3, 4, 5, 6, 7, 8], split.seed: [1, 2, 3, 4, 5, 6, 7, 8]}}\n",
            "sweep big makes 56 experiments, more than experiments.max_sweep (50)",
        ),
    ],
)
def test_bad_experiments_are_refused_before_any_job(tmp_path, experiments, expected):
    workdir = project_with(tmp_path, experiments)
    result = snakemake(workdir, *ARGS, check=False)
    assert result.returncode != 0
    assert expected in result.stdout
    assert not (workdir / "resources").exists() and not (workdir / "results").exists()


def test_only_with_an_unknown_name_is_refused(tmp_path):
    result = snakemake(project_with(tmp_path), "-n", *ARGS, "--config", "only=baseline,nope", check=False)
    assert result.returncode != 0
    assert "only names nope, which is not an experiment" in result.stdout


def experiments_command(workdir, *args):
    """`snaketrain experiments ARGS` in workdir, run from the copy's own scripts; its standard output."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "snaketrain.orchestration.cli", "experiments", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(workdir / "scripts"), "PATH": "/usr/bin:/bin"},
    ).stdout


def test_the_command_prints_the_table(experiments_run):
    out = experiments_command(experiments_run, "--configfile", "config/small.yaml")
    # a sentence on what it shows, then the table, as wide as the terminal (100 characters without one)
    header = next(line for line in out.splitlines() if line.startswith("experiment "))
    assert header.split()[:3] == ["experiment", "linear", "random_forest"]
    assert max(len(line) for line in out.splitlines()) <= 100
    md = experiments_command(experiments_run, "--md", "--all-params")
    assert md.startswith("| experiment | finished | data |") and "split.seed" in md


def test_no_experiments_file_keeps_todays_layout(tmp_path):
    workdir = copy_project(tmp_path / "single")
    (workdir / "config" / "small.yaml").write_text(SMALL)
    shutil.rmtree(workdir / "results", ignore_errors=True)
    out = snakemake(workdir, "-n", *ARGS).stdout
    assert "results/split/train.parquet" in out and "_shared" not in out and "results/experiments" not in out


@pytest.mark.slow
def test_each_experiment_is_one_mlflow_run_named_after_it(tmp_path):
    mlflow = pytest.importorskip("mlflow", reason="optional install: make setup-mlflow (make test installs it)")
    experiments = "experiments:\n  plain: {models: [linear]}\n  folds: {models: [linear], sweep: {tuning.cv: [2]}}\n"
    workdir = project_with(tmp_path, experiments)
    (workdir / "config" / "mlflow.yaml").write_text("tracking:\n  mlflow_uri: sqlite:///mlflow.db\n")
    snakemake(workdir, *ARGS, "--configfile", "config/mlflow.yaml")
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("breast_cancer")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`snaketrain.experiment` != ''")
    named = {run.info.run_name: run.data.tags for run in runs}
    assert set(named) == {"plain", "folds-tuning_cv-2"}
    assert named["folds-tuning_cv-2"]["snaketrain.sweep"] == "folds"
    assert named["plain"]["snaketrain.sweep"] == ""
