"""The cluster profiles as Snakemake reads them: partition and account from the environment, resources."""

import re

import pytest

from tests.cluster.cluster_helpers import bounded_snakemake
from tests.harness import copy_project

pytestmark = pytest.mark.workflow


def planned_resources(output):
    """{rule: resources line} of the first planned job of each rule in a dry run's output."""
    plans = {}
    for block in re.split(r"^\s*(?:local)?rule ", output, flags=re.MULTILINE)[1:]:
        rule = block.split(":", 1)[0]
        match = re.search(r"^\s+resources: (.*)$", block, flags=re.MULTILINE)
        if match:
            plans.setdefault(rule, match.group(1))
    return plans


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("profiles") / "project")


def test_slurm_partition_and_account_come_from_the_environment(project):
    env = {"SNAKETRAIN_SLURM_PARTITION": "short", "SNAKETRAIN_SLURM_ACCOUNT": "ml_team"}
    result, _ = bounded_snakemake(project, "--profile", "profiles/slurm", "--dry-run", env=env, seconds=120)
    assert result.returncode == 0, result.stdout[-3000:]
    plans = planned_resources(result.stdout)
    for rule in ("acquire_data", "tune_model", "train_model", "evaluate_model"):
        assert "slurm_partition=short" in plans[rule], plans[rule]
        assert "slurm_account=ml_team" in plans[rule], plans[rule]


def test_slurm_profile_without_environment_leaves_partition_and_account_to_slurm(project):
    result, _ = bounded_snakemake(project, "--profile", "profiles/slurm", "--dry-run", seconds=120)
    assert result.returncode == 0, result.stdout[-3000:]
    plans = planned_resources(result.stdout)
    assert plans, result.stdout[-3000:]
    assert not any("slurm_partition" in line or "slurm_account" in line for line in plans.values())
    # nothing in the workflow names a partition or an account
    assert "slurm_" not in "".join(p.read_text() for p in (project / "workflow").rglob("*.smk"))
