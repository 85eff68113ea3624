"""Experiments (issue 25) on a real SLURM cluster through profiles/slurm: three experiments in one DAG, their jobs
spread over SLURM jobs, with the same results as the same three run locally.

Bounded by `timeout -s KILL` (bounded_snakemake); skips without a cluster unless SNAKETRAIN_REQUIRE_SLURM=1.
"""

import csv
import json
from collections import Counter

import pytest

from tests.cluster.cluster_helpers import (  # noqa: F401 (slurm: fixture)
    bounded_snakemake,
    sacct_settled,
    slurm,
    submitted_jobs,
)
from tests.harness import copy_project

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.usefixtures("slurm")]

# A tiny base config (the bundled breast-cancer set, two small models, 3-fold CV, two candidates each) and three
# experiments: the base, one model only, and a bigger forest. They share the data steps; baseline and
# forest_only share random_forest's fit, baseline and more_trees linear's, so four model fits in all.
BASE = """\
models: [linear, random_forest]
tuning: {cv: 3}
estimators:
  linear:
    search_space: {C: [0.1, 1.0]}
  random_forest:
    params: {n_estimators: 10}
    search_space: {max_depth: [4], min_samples_leaf: [1, 5]}
"""
EXPERIMENTS = """\
experiments:
  baseline: {}
  forest_only: {models: [random_forest]}
  more_trees: {estimators: {random_forest: {params: {n_estimators: 20}}}}
"""
NAMES = ("baseline", "forest_only", "more_trees")
# the jobs that must have gone to SLURM: the data steps once (one group job, as profiles/slurm groups them), each of
# the three distinct model fits once (linear; random_forest with 10 and with 20 trees)
REMOTE_JOBS = Counter(
    {
        "acquire_data": 1,
        "validate_data": 1,
        "split_data": 1,
        "build_features": 1,
        "resolve_estimator": 3,
        "tune_model": 3,
        "train_model": 3,
        "evaluate_model": 3,
    }
)
DATA_STEPS = ("acquire_data", "validate_data", "split_data", "build_features")


def experiments_project(dest):
    project = copy_project(dest)
    (project / "config" / "base.yaml").write_text(BASE)
    (project / "config" / "experiments.yaml").write_text(EXPERIMENTS)
    return project


def rules_of(log_dir_name):
    """The rules one SLURM job ran, from its log folder name: rule_<rule> or group_<group>_..."""
    if log_dir_name.startswith("rule_"):
        return [log_dir_name.removeprefix("rule_")]
    return [rule for rule in DATA_STEPS if f"_{rule}" in log_dir_name]


def experiments_table(project):
    """results/experiments.csv as rows keyed by experiment, without the finished-at column (a time)."""
    with open(project / "results" / "experiments.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {row["experiment"]: {key: value for key, value in row.items() if key != "finished"} for row in rows}


def read_json(path):
    return json.loads(path.read_text())


def test_three_experiments_on_slurm_match_a_local_run(tmp_path):
    local = experiments_project(tmp_path / "local")
    result, _ = bounded_snakemake(local, "--cores", "2", "--configfile", "config/base.yaml", seconds=600)
    assert result.returncode == 0, result.stdout[-6000:]

    project = experiments_project(tmp_path / "slurm")
    args = ("--profile", "profiles/slurm", "--configfile", "config/base.yaml")
    result, _ = bounded_snakemake(project, *args, seconds=1200)
    assert result.returncode == 0, result.stdout[-6000:]

    # the experiments' work went to SLURM, shared work once: one data group job and one job per distinct fit step,
    # and SLURM says every one COMPLETED
    jobs = submitted_jobs(result.stdout)
    ran = Counter(rule for name, _ in jobs.values() for rule in rules_of(name))
    assert ran == REMOTE_JOBS, result.stdout[-6000:]
    states = sacct_settled(list(jobs))
    assert {job: row["State"] for job, row in states.items()} == dict.fromkeys(jobs, "COMPLETED")

    # the same shared folders (keyed by the settings their jobs read) with the same model bytes and metrics
    models = sorted(path.relative_to(project) for path in (project / "results" / "_shared").glob("fit-*/models/*"))
    assert models == sorted(path.relative_to(local) for path in (local / "results" / "_shared").glob("fit-*/models/*"))
    assert len(models) == 3, models
    for path in models:
        assert (project / path).read_bytes() == (local / path).read_bytes(), path
        metrics = path.parent.parent / "evaluation" / path.stem / "metrics.json"
        assert read_json(project / metrics) == read_json(local / metrics), metrics
    [preprocessor] = (project / "results" / "_shared").glob("features-*/features/preprocessor.joblib")
    assert preprocessor.read_bytes() == (local / preprocessor.relative_to(project)).read_bytes()

    # per experiment: the same comparison table, gate decision and registered version
    for name in NAMES:
        results = "results/" + name
        for path in (f"{results}/comparison/metrics.csv", f"{results}/comparison/best.json"):
            assert (project / path).read_bytes() == (local / path).read_bytes(), path
        assert read_json(project / results / "gate/decision.json") == read_json(local / results / "gate/decision.json")
        assert read_json(project / results / "gate/decision.json")["passed"], name
        receipts = [read_json(run / results / "registry/receipt.json") for run in (project, local)]
        assert receipts[0]["version"] == receipts[1]["version"], name
        assert receipts[0]["model"] == receipts[1]["model"], name

    # one promotion for the registered name, the same version from the same experiment; the same table of experiments
    deploys = [read_json(run / "results/_deploy/breast_cancer/deploy/receipt.json") for run in (project, local)]
    for key in ("version", "experiment", "previous", "candidates"):
        assert deploys[0][key] == deploys[1][key], key
    production = [
        read_json(run / "registry/models/breast_cancer/production.json")["version"] for run in (project, local)
    ]
    assert production[0] == production[1] == deploys[0]["version"]
    assert experiments_table(project) == experiments_table(local)
    assert set(experiments_table(project)) == set(NAMES)
