"""Helpers for the cluster tests: is a SLURM cluster up, bounded snakemake runs, SLURM accounting."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# With SNAKETRAIN_REQUIRE_SLURM=1 (set by .ci/run) a missing cluster fails the cluster tests instead of
# skipping them, so CI cannot pass without having run them.
REQUIRE_SLURM = os.environ.get("SNAKETRAIN_REQUIRE_SLURM") == "1"
# exit status of `timeout -s KILL` when it had to kill the command
KILLED = 137


def slurm_problem():
    """Why the tests cannot use a SLURM cluster here, or None when one is up with accounting."""
    for tool in ("sbatch", "sinfo", "sacct", "scontrol"):
        if shutil.which(tool) is None:
            return f"{tool} not found: start a cluster with tests/cluster/start_slurm.sh"
    checks = {
        "slurmctld is not answering (scontrol ping)": ["scontrol", "ping"],
        "no idle or busy node (sinfo)": ["sinfo", "-h", "-o", "%T"],
        "accounting does not answer (sacct); the slurm executor would hang": ["sacct", "-n", "-X", "-S", "now"],
    }
    for problem, cmd in checks.items():
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            return problem
        if out.returncode != 0:
            return f"{problem}: {out.stderr.strip()}"
        if cmd[0] == "scontrol" and "UP" not in out.stdout:
            return problem
        if cmd[0] == "sinfo" and not re.search(r"idle|mix|alloc", out.stdout):
            return f"{problem}: {out.stdout.strip()}"
    return None


@pytest.fixture(scope="session")
def slurm():
    """A running SLURM cluster with accounting; skips (or fails, under SNAKETRAIN_REQUIRE_SLURM=1) without."""
    problem = slurm_problem()
    if problem:
        if REQUIRE_SLURM:
            pytest.fail(f"SNAKETRAIN_REQUIRE_SLURM=1 but no usable SLURM cluster: {problem}")
        pytest.skip(f"no SLURM cluster: {problem}")


def bounded_snakemake(workdir, *args, seconds, env=None):
    """Run snakemake under `timeout -s KILL seconds`; returns (CompletedProcess, elapsed seconds).

    The slurm executor ignores SIGTERM/SIGINT while it waits for job states, so only SIGKILL bounds it.
    A run that had to be killed fails the test here, with its output.
    """
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    full_env.update(env or {})
    start = time.monotonic()
    result = subprocess.run(
        ["timeout", "-s", "KILL", str(seconds), sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    elapsed = time.monotonic() - start
    if result.returncode == KILLED:
        raise AssertionError(f"snakemake {' '.join(args)} hung: killed after {seconds} s\n{result.stdout[-6000:]}")
    return result, elapsed


def submitted_jobs(output):
    """{slurm job id: (rule or group name, slurm log path)} from the lines the slurm executor prints."""
    jobs = {}
    for match in re.finditer(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output):
        log = Path(match.group(2))
        name = next(part for part in log.parts if part.startswith(("rule_", "group_")))
        jobs[match.group(1)] = (name, log)
    return jobs


def submitted_group_jobs(output):
    """SLURM job ids of the group jobs the cluster-generic executor submitted, in order."""
    return re.findall(r"Submitted group job \S+ with external jobid '(\d+)'", output)


SACCT_FIELDS = ("JobID", "State", "ExitCode", "ReqMem", "AllocCPUS", "AllocTRES")


def sacct(job_ids, fields=SACCT_FIELDS):
    """{job id: {field: value}} from SLURM accounting for the given jobs (allocation lines only)."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    rows = {}
    for line in out.splitlines():
        values = dict(zip(fields, line.split("|"), strict=True))
        rows[values["JobID"]] = values
    return rows


def sacct_settled(job_ids, seconds=30, fields=SACCT_FIELDS):
    """sacct rows once every job has reached a final state (accounting lags slurmctld by a moment)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = sacct(job_ids, fields)
        pending = [j for j in job_ids if rows.get(j, {}).get("State", "") in ("", "PENDING", "RUNNING", "COMPLETING")]
        if not pending or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def sacct_steps(job_id):
    """{step id: State} of the job steps (srun) inside one SLURM job, without its batch/extern steps."""
    out = subprocess.run(
        ["sacct", "-n", "-P", "-j", job_id, "-o", "JobID,State"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    steps = dict(line.split("|") for line in out.splitlines())
    return {step: state for step, state in steps.items() if re.fullmatch(rf"{job_id}\.\d+", step)}
