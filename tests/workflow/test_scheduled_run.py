"""scripts/scheduled_run.sh: runs never overlap (flock), and the exit status means what a scheduler needs."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.harness import ROOT

pytestmark = pytest.mark.workflow
WRAPPER = str(ROOT / "scripts" / "scheduled_run.sh")

# a stand-in for snakemake that records each start, takes a while, and exits with a chosen status
STAND_IN = """#!/bin/sh
echo started >> "$STARTS"
sleep "${HOLD:-0}"
exit "${STATUS:-0}"
"""


@pytest.fixture
def stand_in(tmp_path):
    script = tmp_path / "fake-snakemake"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    env = {
        **os.environ,
        "SNAKETRAIN_DIR": str(project),
        "SNAKETRAIN_SNAKEMAKE": str(script),
        "STARTS": str(tmp_path / "starts"),
    }
    return project, env, tmp_path / "starts"


def lock_is_held(lock):
    return subprocess.run(["flock", "--nonblock", str(lock), "true"]).returncode != 0


def test_second_run_is_skipped_while_the_first_holds_the_lock(stand_in):
    project, env, starts = stand_in
    lock = project / ".snakemake/scheduled_run.lock"
    first = subprocess.Popen([WRAPPER], env={**env, "HOLD": "3"}, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while not (lock.exists() and lock_is_held(lock)):
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
    second = subprocess.run([WRAPPER], env=env, capture_output=True, text=True, timeout=10)
    assert second.returncode == 0
    assert "another run holds" in second.stdout and "skipping" in second.stdout
    out, _ = first.communicate(timeout=20)
    assert first.returncode == 0
    assert "run succeeded" in out
    assert starts.read_text().splitlines() == ["started"]  # only the first one ran
    # the lock is released with the process: the next scheduled run goes ahead
    third = subprocess.run([WRAPPER], env=env, capture_output=True, text=True, timeout=10)
    assert third.returncode == 0
    assert starts.read_text().splitlines() == ["started", "started"]


def test_failed_run_exits_with_its_status_and_shows_the_log(stand_in):
    project, env, _ = stand_in
    result = subprocess.run([WRAPPER], env={**env, "STATUS": "3"}, capture_output=True, text=True, timeout=10)
    assert result.returncode == 3
    assert "run FAILED with status 3" in result.stderr
    assert len(list((project / "logs/scheduled_run").glob("*.log"))) == 1


def test_real_pipeline_through_the_wrapper(default_run, tmp_path):
    workdir = tmp_path / "project"
    shutil.copytree(default_run, workdir, symlinks=True)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")
    } | {"SNAKETRAIN_DIR": str(workdir), "SNAKETRAIN_SNAKEMAKE": f"{sys.executable} -m snakemake"}
    result = subprocess.run([WRAPPER, "--cores", "2"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run succeeded" in result.stdout
    (log,) = (workdir / "logs/scheduled_run").glob("*.log")
    assert "Nothing to be done" in log.read_text()
    # a run that fails (unknown target) is reported as failed
    failed = subprocess.run([WRAPPER, "--cores", "2", "no_such_target"], env=env, capture_output=True, text=True, timeout=600)
    assert failed.returncode == 1
    assert "run FAILED" in failed.stderr
