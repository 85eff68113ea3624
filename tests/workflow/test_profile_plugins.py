"""A cluster profile used without its plugin (an extra: requirements-cluster.txt) fails in one line naming the fix.

The test environment has the plugins installed, so each test runs a copy of the profile whose check looks for
plugin modules that do not exist: the same check and message, on the real snakemake CLI.
"""

import re

import pytest

from tests.harness import ROOT, copy_project, snakemake

pytestmark = pytest.mark.workflow

CLUSTER_PROFILES = {
    "slurm": ["snakemake-executor-plugin-slurm"],
    "slurm-single-job": ["snakemake-executor-plugin-cluster-generic"],
    "cluster-generic": ["snakemake-executor-plugin-cluster-generic"],
    "kubernetes": ["snakemake-executor-plugin-kubernetes", "snakemake-storage-plugin-s3"],
}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("plugins") / "project")


@pytest.mark.parametrize("profile", sorted(CLUSTER_PROFILES))
def test_profile_checks_for_each_plugin_it_needs(profile):
    text = (ROOT / "profiles" / profile / "config.yaml").read_text()
    check = re.search(r"find_spec\(plugin\) for plugin in \[(.*)\]", text)
    assert check, f"profiles/{profile} does not check for its plugins"
    modules = re.findall(r'"([a-z0-9_]+)"', check.group(1))
    assert modules == [name.replace("-", "_") for name in CLUSTER_PROFILES[profile]]


@pytest.mark.parametrize("profile", sorted(CLUSTER_PROFILES))
def test_profile_without_its_plugin_fails_in_one_line_that_says_what_to_install(checkout, profile):
    config = checkout / "profiles" / profile / "config.yaml"
    original = config.read_text()
    config.write_text(original.replace('"snakemake_', '"absent_snakemake_'))
    try:
        result = snakemake(checkout, "--profile", f"profiles/{profile}", "-n", check=False)
    finally:
        config.write_text(original)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    # Snakemake's own "Using profiles ..." line, then ours; no usage text, no traceback
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith("Using profiles")
    message = lines[1]
    assert message.startswith(f"snaketrain: profiles/{profile} needs ")
    for plugin in CLUSTER_PROFILES[profile]:
        assert plugin in message
    assert "make setup-cluster" in message and "pip install -r requirements-cluster.txt" in message
