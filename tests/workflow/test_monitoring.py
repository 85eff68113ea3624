"""Real snakemake runs with monitoring.retrain: on_drift on a generated table with text columns and gaps: the run
that stops after the check, the one that retrains, what a dry run plans, and bad monitoring config."""

import json

import numpy as np
import pytest
from tests.harness import copy_project, planned_jobs, snakemake
from tests.tables import mixed_frame

pytestmark = pytest.mark.workflow

OVERLAY = """\
data: {name: mixed, source: file, path: data/mixed.csv, target: y}
features: {drop: [id]}
models: [linear]
tuning: {cv: 3}
gate: {thresholds: {accuracy: 0.5, f1: 0.5}}
monitoring: {retrain: on_drift}
"""
ARGS = ("--configfile", "config/mixed.yaml")


def write_data(workdir, shift=0.0, seed=0):
    df = mixed_frame(400, seed=seed)
    df["x"] += shift
    df["noise"] += shift
    if shift:
        df["colour"] = np.where(np.arange(400) % 2, "purple", df["colour"])
    (workdir / "data").mkdir(exist_ok=True)
    df.to_csv(workdir / "data/mixed.csv", index=False)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A run with nothing in production: the check says so, and the whole pipeline runs and registers."""
    workdir = copy_project(tmp_path_factory.mktemp("monitoring") / "project")
    (workdir / "config/mixed.yaml").write_text(OVERLAY)
    write_data(workdir)
    out = snakemake(workdir, "--cores", "2", *ARGS).stdout
    return workdir, out


def drift(workdir):
    return json.loads((workdir / "results/monitoring/drift.json").read_text())


def test_the_first_run_retrains_because_nothing_is_in_production(first_run):
    workdir, out = first_run
    assert drift(workdir)["decision"]["reasons"] == ["no model is in production yet"]
    assert (workdir / "results/deploy/receipt.json").is_file()
    version = json.loads((workdir / "results/deploy/receipt.json").read_text())["version"]
    assert (workdir / f"registry/models/mixed/versions/{version}/profile.json").is_file()


def test_unchanged_data_stops_after_the_check_and_drifted_data_retrains(first_run):
    workdir, _ = first_run
    # the promotion changed production: the next run checks again, and only that
    assert planned_jobs(workdir, *ARGS) == {"check_drift": 1, "all": 1}
    out = snakemake(workdir, "--cores", "2", *ARGS).stdout
    assert "retrained:    no - the data has not drifted" in out and "trained and registered" in out
    assert "tune_model" not in out and "register_model" not in out
    assert drift(workdir)["dataset_drift"] is False
    assert planned_jobs(workdir, *ARGS) == {}

    write_data(workdir, shift=3.0, seed=1)
    snakemake(workdir, "--cores", "1", "check_drift", *ARGS)
    assert drift(workdir)["dataset_drift"] is True
    assert {"colour", "x"} <= set(drift(workdir)["drifted_columns"])
    assert "data:image/png" in (workdir / "results/report/drift.html").read_text()
    # the check has decided: a dry run shows the retrain it calls for
    planned = planned_jobs(workdir, *ARGS)
    assert planned["tune_model"] == 1 and planned["train_model"] == 1 and "check_drift" not in planned
    out = snakemake(workdir, "--cores", "2", *ARGS).stdout
    assert "drift check:  DRIFTED" in out and "quality gate: PASSED" in out


def test_the_default_mode_plans_the_same_jobs_as_before(first_run):
    workdir, _ = first_run
    jobs = planned_jobs(workdir, "--forceall", *ARGS, "--config", "monitoring={retrain: always}")
    # up to the gate (a checkpoint: what follows it is planned once it has run), and no drift check
    assert "check_drift" not in jobs and jobs["tune_model"] == 1 and jobs["quality_gate"] == 1


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("monitoring={retrain: sometimes}", "monitoring.retrain"),
        ("monitoring={drift_share: 1.5}", "monitoring.drift_share"),
        ("monitoring={columns: {x: {test: anova}}}", "monitoring.columns.x.test"),
    ],
)
def test_bad_monitoring_config_is_refused_before_any_job(first_run, setting, key):
    workdir, _ = first_run
    result = snakemake(workdir, "-n", *ARGS, "--config", setting, check=False)
    assert result.returncode != 0 and key in result.stdout
