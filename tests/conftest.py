"""Fixtures shared by every test module: a fresh project copy, and one complete default run."""

import pytest

from tests.harness import copy_project, snakemake


@pytest.fixture
def project(tmp_path):
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """One complete run of the default pipeline, shared by the tests that only read or branch off it."""
    workdir = copy_project(tmp_path_factory.mktemp("default") / "project")
    result = snakemake(workdir, "--cores", "2")
    (workdir / "run.out").write_text(result.stdout)
    return workdir
