"""The pipeline on a real SLURM cluster through profiles/slurm (start one with tests/cluster/start_slurm.sh).

Every test here is bounded by `timeout -s KILL` (bounded_snakemake) and skips cleanly without a cluster,
unless SNAKETRAIN_REQUIRE_SLURM=1 (set by .ci/run), which turns a missing cluster into a failure.
"""

import json
import re
from collections import Counter

import pytest
import yaml

from tests.cluster.cluster_helpers import (  # noqa: F401 (slurm: fixture)
    bounded_snakemake,
    sacct_settled,
    sacct_steps,
    slurm,
    submitted_group_jobs,
    submitted_jobs,
)
from tests.harness import ROOT, clone_run, copy_project

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.usefixtures("slurm")]

MODELS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]
# the jobs of a default run that must go to SLURM; everything else is a localrule
REMOTE_JOBS = Counter(
    {
        "acquire_data": 1,
        "validate_data": 1,
        "resolve_estimator": len(MODELS),
        "split_data": 1,
        "build_features": 1,
        "tune_model": len(MODELS),
        "train_model": len(MODELS),
        "evaluate_model": len(MODELS),
    }
)
LOCAL_RULES = ("compare_models", "quality_gate", "register_model", "deploy_model")
# CPUs and memory (MB, first attempt) each rule declares, as SLURM must have granted them
DECLARED = {
    "acquire_data": (1, 2000),
    "validate_data": (1, 2000),
    "resolve_estimator": (1, 1000),
    "split_data": (1, 2000),
    "build_features": (1, 3000),
    "tune_model": (2, 4000),
    "train_model": (2, 4000),
    "evaluate_model": (1, 2000),
}
# Wall time of a SLURM run over a local run of the same config, measured side by side in the tests below and
# written to test-artifacts/<profile>-walltime.json. The measured figures are in docs/cluster.md (made with
# tests/cluster/walltime.py, several rounds); this bound only guards against regressions such as the
# plugin's default 40 s before the first status check (over 20x).
MAX_SLOWDOWN = 15.0
# a config overlay whose data file does not exist: acquire_data fails on the cluster
MISSING_DATA_FILE = "data:\n  name: missing\n  source: file\n  path: no-such-file.csv\n"


def rules_of(log_dir_name):
    """The rules a SLURM job ran, from its log folder: rule_<rule> or group_<group>_<rule>_<rule>..."""
    if log_dir_name.startswith("rule_"):
        return [log_dir_name.removeprefix("rule_")]
    return [rule for rule in DECLARED if f"_{rule}" in log_dir_name]


def write_overlay(path, text):
    path.write_text(text)
    return str(path)


def test_pipeline_on_slurm_matches_local_run(default_run, tmp_path):
    # a local run right before, for the wall-time ratio (default_run may have run long ago under other load)
    local = copy_project(tmp_path / "local")
    _, local_seconds = bounded_snakemake(local, "--cores", "2", seconds=600)
    assert (local / "results" / "deploy" / "receipt.json").is_file()

    project = copy_project(tmp_path / "slurm")
    result, slurm_seconds = bounded_snakemake(project, "--profile", "profiles/slurm", seconds=1200)
    assert result.returncode == 0, result.stdout[-6000:]

    # every job that is not a localrule ran in a SLURM job (alone, or with the other data steps as one
    # group job, as profiles/slurm groups them), and SLURM says each one COMPLETED
    jobs = submitted_jobs(result.stdout)
    ran = Counter(rule for name, _ in jobs.values() for rule in rules_of(name))
    assert ran == REMOTE_JOBS, result.stdout[-6000:]
    assert any(name.startswith("group_data_") for name, _ in jobs.values()), "the data steps were not grouped"
    states = sacct_settled(list(jobs))
    assert {job: row["State"] for job, row in states.items()} == dict.fromkeys(jobs, "COMPLETED")
    for job, (name, _) in jobs.items():
        # a group job asks for what its largest step needs (its steps run one after another)
        cpus = max(DECLARED[rule][0] for rule in rules_of(name))
        mem_mb = max(DECLARED[rule][1] for rule in rules_of(name))
        assert int(states[job]["AllocCPUS"]) == cpus, (name, states[job])
        assert states[job]["ReqMem"] == f"{mem_mb}M", (name, states[job])
        assert "gpu" not in states[job]["AllocTRES"], (name, states[job])
    # the light end ran on the submit host, not as SLURM jobs
    for rule in LOCAL_RULES:
        assert re.search(rf"^local(?:rule|checkpoint) {rule}:", result.stdout, re.MULTILINE), rule

    assert_same_results(project, (default_run, local))
    record_walltime("profiles/slurm", local_seconds, slurm_seconds)


def test_single_job_profile_runs_the_pipeline_as_one_slurm_job(default_run, tmp_path):
    """profiles/slurm-single-job: every remote step runs in one sbatch job, as threads of one snakemake."""
    local = copy_project(tmp_path / "local")
    _, local_seconds = bounded_snakemake(local, "--cores", "2", seconds=600)

    project = copy_project(tmp_path / "slurm")
    env = {"SNAKETRAIN_SLURM_PARTITION": "debug"}
    result, slurm_seconds = bounded_snakemake(project, "--profile", "profiles/slurm-single-job", env=env, seconds=1200)
    assert result.returncode == 0, result.stdout[-6000:]

    job_ids = submitted_group_jobs(result.stdout)
    assert len(job_ids) == 1, result.stdout[-6000:]
    [job_id] = job_ids
    row = sacct_settled(job_ids, fields=("JobID", "State", "AllocCPUS", "ReqMem", "Partition"))[job_id]
    # one submission, sized for the largest step (tune/train: 2 CPUs, 4000 MB), not for all steps at once,
    # in the partition named by the environment
    assert (row["State"], row["AllocCPUS"], row["ReqMem"], row["Partition"]) == ("COMPLETED", "2", "4000M", "debug")
    # inside it one snakemake ran every remote step, as threads (the job script's --force-use-threads)
    slurm_output = (project / "logs" / "slurm" / f"{job_id}.out").read_text()
    assert "--force-use-threads" in slurm_output
    ran = Counter(re.findall(r"^localrule (\w+):", slurm_output, re.MULTILINE))
    assert ran == REMOTE_JOBS, slurm_output[-4000:]
    assert not sacct_steps(job_id), "no step of the job should be a process of its own (srun)"
    # the light end still ran on the submit host
    for rule in LOCAL_RULES:
        assert re.search(rf"^local(?:rule|checkpoint) {rule}:", result.stdout, re.MULTILINE), rule

    assert_same_results(project, (default_run, local))
    record_walltime("profiles/slurm-single-job", local_seconds, slurm_seconds)


def test_single_job_profile_failure_names_the_stage_and_retries_with_more_memory(tmp_path):
    project = copy_project(tmp_path / "project")
    overlay = write_overlay(tmp_path / "missing.yaml", MISSING_DATA_FILE)
    result, _ = bounded_snakemake(
        project, "--profile", "profiles/slurm-single-job", "--configfile", overlay, seconds=400
    )
    assert result.returncode != 0, result.stdout[-4000:]
    assert "logs/acquire_data/acquire_data.log" in result.stdout
    assert "data file 'no-such-file.csv' does not exist" in result.stdout

    # the group job is retried as often as its most-retried step allows (tune/train: 2), mem_mb * attempt
    job_ids = submitted_group_jobs(result.stdout)
    states = sacct_settled(job_ids)
    assert [row["State"] for row in states.values()] == ["FAILED"] * 3, states
    assert [row["ReqMem"] for row in states.values()] == ["4000M", "8000M", "12000M"], states
    # SLURM's output of each attempt is kept and holds the stage's explanation
    for job_id in job_ids:
        assert "does not exist" in (project / "logs" / "slurm" / f"{job_id}.out").read_text()


def assert_same_results(project, references):
    """Same metrics, same model bytes, same registered version as local runs of the same config."""
    for ref in references:
        for model in MODELS:
            metrics = f"results/evaluation/{model}/metrics.json"
            assert json.loads((project / metrics).read_text()) == json.loads((ref / metrics).read_text()), model
            joblib = f"results/models/{model}.joblib"
            assert (project / joblib).read_bytes() == (ref / joblib).read_bytes(), model
        for path in ("results/comparison/metrics.csv", "results/gate/decision.json"):
            assert (project / path).read_bytes() == (ref / path).read_bytes(), path
        # the same content-addressed version went to production (promoted_at differs, naturally)
        production = "registry/models/breast_cancer/production.json"
        assert (
            json.loads((project / production).read_text())["version"]
            == json.loads((ref / production).read_text())["version"]
        )


def record_walltime(profile, local_seconds, slurm_seconds):
    """Write the paired wall times to test-artifacts/ (one file per profile) and guard against regressions."""
    ratio = slurm_seconds / local_seconds
    record = {
        "profile": profile,
        "local_s": round(local_seconds, 1),
        "slurm_s": round(slurm_seconds, 1),
        "ratio": round(ratio, 2),
    }
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    name = profile.removeprefix("profiles/")
    (artifacts / f"{name}-walltime.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wall time: local {local_seconds:.1f} s, {profile} {slurm_seconds:.1f} s, ratio {ratio:.2f}")
    assert ratio <= MAX_SLOWDOWN, record


def test_failing_job_stops_run_with_its_log_path(tmp_path):
    project = copy_project(tmp_path / "project")
    overlay = write_overlay(tmp_path / "missing.yaml", MISSING_DATA_FILE)
    result, _ = bounded_snakemake(project, "--profile", "profiles/slurm", "--configfile", overlay, seconds=300)
    assert result.returncode != 0, result.stdout[-4000:]

    # the rule's log (with the stage's explanation) and the SLURM job's log are both named
    assert "logs/acquire_data/acquire_data.log" in result.stdout
    assert "data file 'no-such-file.csv' does not exist" in result.stdout
    jobs = submitted_jobs(result.stdout)
    assert jobs, result.stdout[-4000:]
    for name, slurm_log in jobs.values():
        assert "acquire_data" in rules_of(name)
        assert slurm_log.is_file(), f"the failed job's SLURM log {slurm_log} was not kept"
    # the error report names the SLURM log of the failed job too
    report = result.stdout[result.stdout.index("Error in ") :]
    assert any(str(slurm_log) in report for _, slurm_log in jobs.values()), report[-4000:]

    # acquire_data retries once, and the retry asks SLURM for twice the memory
    states = sacct_settled(sorted(jobs, key=int))
    assert [row["State"] for row in states.values()] == ["FAILED", "FAILED"], states
    first, second = (int(row["ReqMem"].removesuffix("M")) for row in states.values())
    assert second == 2 * first, states


def test_gpu_request_reaches_sbatch(default_run, tmp_path):
    """A model that asks for a GPU gets --gpus on its sbatch line (this cluster has none, so sbatch refuses)."""
    project = clone_run(default_run, tmp_path / "project")
    overlay = write_overlay(
        tmp_path / "gpu.yaml",
        "estimators:\n  spline_linear:\n    resources:\n      gpu: 1\n",
    )
    target = "results/tuning/spline_linear/best_params.json"
    result, _ = bounded_snakemake(
        project, "--profile", "profiles/slurm", "--configfile", overlay, "--", target, seconds=300
    )
    assert result.returncode != 0
    sbatch_calls = re.findall(r"sbatch call:\s*\n\s*(sbatch .*)", result.stdout)
    assert sbatch_calls, result.stdout[-4000:]
    assert "--gpus=1" in sbatch_calls[0]
    assert "--cpus-per-task=2" in sbatch_calls[0]


def test_cluster_generic_profile_submits_through_sbatch(tmp_path):
    """profiles/cluster-generic (plain sbatch + status.sh) runs the data steps as SLURM jobs."""
    project = copy_project(tmp_path / "project")
    target = "results/features/schema.json"
    result, _ = bounded_snakemake(project, "--profile", "profiles/cluster-generic", "--", target, seconds=300)
    assert result.returncode == 0, result.stdout[-4000:]
    job_ids = re.findall(r"Submitted job \d+ with external jobid '(\d+)'", result.stdout)
    assert len(job_ids) == 4, result.stdout[-4000:]  # acquire, validate, split, build_features
    states = sacct_settled(job_ids)
    assert [states[job]["State"] for job in job_ids] == ["COMPLETED"] * 4
    assert (project / target).is_file()
