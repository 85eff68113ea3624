"""The pipeline on a real SLURM cluster through profiles/slurm (start one with tests/cluster/start_slurm.sh).

Every test here is bounded by `timeout -s KILL` (bounded_snakemake) and skips cleanly without a cluster,
unless SNAKETRAIN_REQUIRE_SLURM=1 (set by .ci/run), which turns a missing cluster into a failure.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from cluster_helpers import bounded_snakemake, sacct_settled, slurm, submitted_jobs  # noqa: F401 (slurm: fixture)
from conftest import ROOT, clone_run, copy_project

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.usefixtures("slurm")]

MODELS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]
# the jobs of a default run that must go to SLURM; everything else is a localrule
REMOTE_JOBS = Counter(
    {
        "acquire_data": 1,
        "validate_data": 1,
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
    "split_data": (1, 2000),
    "build_features": (1, 3000),
    "tune_model": (2, 4000),
    "train_model": (2, 4000),
    "evaluate_model": (1, 2000),
}
# wall time of the SLURM run over a local run of the same config, measured side by side in the same test
MAX_SLOWDOWN = 6.0


def rule_of(log_dir_name):
    return log_dir_name.removeprefix("rule_")


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

    # every job that is not a localrule ran as a SLURM job, and SLURM says each one COMPLETED
    jobs = submitted_jobs(result.stdout)
    assert Counter(rule_of(name) for name, _ in jobs.values()) == REMOTE_JOBS, result.stdout[-6000:]
    states = sacct_settled(list(jobs))
    assert {job: row["State"] for job, row in states.items()} == dict.fromkeys(jobs, "COMPLETED")
    for job, (name, _) in jobs.items():
        cpus, mem_mb = DECLARED[rule_of(name)]
        assert int(states[job]["AllocCPUS"]) == cpus, (name, states[job])
        assert states[job]["ReqMem"] == f"{mem_mb}M", (name, states[job])
        assert "gpu" not in states[job]["AllocTRES"], (name, states[job])
    # the light end ran on the submit host, not as SLURM jobs
    for rule in LOCAL_RULES:
        assert re.search(rf"^localrule {rule}:", result.stdout, re.MULTILINE), rule

    # same metrics, same model bytes, same registered version as a local run of the same config
    for ref in (default_run, local):
        for model in MODELS:
            metrics = f"results/evaluation/{model}/metrics.json"
            assert json.loads((project / metrics).read_text()) == json.loads((ref / metrics).read_text()), model
            joblib = f"results/models/{model}.joblib"
            assert (project / joblib).read_bytes() == (ref / joblib).read_bytes(), model
        for path in ("results/comparison/metrics.csv", "results/gate/decision.json", "registry/production.json"):
            assert (project / path).read_bytes() == (ref / path).read_bytes(), path

    ratio = slurm_seconds / local_seconds
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    record = {"local_s": round(local_seconds, 1), "slurm_s": round(slurm_seconds, 1), "ratio": round(ratio, 2)}
    (artifacts / "slurm-walltime.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wall time: local {local_seconds:.1f} s, SLURM {slurm_seconds:.1f} s, ratio {ratio:.2f}")
    assert ratio <= MAX_SLOWDOWN, record


def test_failing_job_stops_run_with_its_log_path(tmp_path):
    project = copy_project(tmp_path / "project")
    overlay = write_overlay(
        tmp_path / "missing.yaml",
        "data:\n  name: missing\n  source: file\n  path: no-such-file.csv\n",
    )
    result, seconds = bounded_snakemake(
        project,
        "--profile",
        "profiles/slurm",
        "--configfile",
        overlay,
        "--",
        "resources/data/missing.parquet",
        seconds=300,
    )
    assert result.returncode != 0, result.stdout[-4000:]

    # the rule's log (with the stage's explanation) and the SLURM job's log are both named
    assert "logs/acquire_data/acquire_data.log" in result.stdout
    assert "data file 'no-such-file.csv' does not exist" in result.stdout
    jobs = submitted_jobs(result.stdout)
    assert jobs, result.stdout[-4000:]
    for name, slurm_log in jobs.values():
        assert name == "rule_acquire_data"
        assert str(slurm_log) in result.stdout.split("submitted with SLURM jobid", 1)[1]
        assert slurm_log.is_file(), f"the failed job's SLURM log {slurm_log} was not kept"

    # acquire_data retries once, and the retry asked SLURM for twice the memory
    states = sacct_settled(sorted(jobs, key=int))
    assert [row["State"] for row in states.values()] == ["FAILED", "FAILED"], states
    assert [row["ReqMem"] for row in states.values()] == ["2000M", "4000M"], states


def test_gpu_request_reaches_sbatch(default_run, tmp_path):
    """A model that asks for a GPU gets --gpus on its sbatch line (this cluster has none, so sbatch refuses)."""
    project = clone_run(default_run, tmp_path / "project")
    overlay = write_overlay(
        tmp_path / "gpu.yaml",
        "estimators:\n  logistic_regression:\n    resources:\n      gpu: 1\n",
    )
    target = "results/tuning/logistic_regression/best_params.json"
    result, _ = bounded_snakemake(
        project, "--profile", "profiles/slurm", "--configfile", overlay, "--", target, seconds=300
    )
    assert result.returncode != 0
    sbatch_calls = re.findall(r"sbatch call:\s*\n\s*(sbatch .*)", result.stdout)
    assert sbatch_calls, result.stdout[-4000:]
    assert "--gpus=1" in sbatch_calls[0]
    assert "--cpus-per-task=2" in sbatch_calls[0]
    assert Path(project / target).is_file(), "the earlier result stays in place when the new job cannot start"
