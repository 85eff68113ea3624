"""The test harness: copies of the project and real snakemake runs in them (imported by test modules)."""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# what a user's checkout holds that the workflow needs to run
PROJECT_PARTS = ("workflow", "scripts", "config", "profiles")


def copy_project(dest):
    """A fresh copy of the workflow in dest, as a user's checkout would be."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        shutil.copytree(ROOT / part, dest / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def clone_run(src, dest):
    """Copy a finished run (results, registry, .snakemake metadata) keeping mtimes, to branch a test off it."""
    shutil.copytree(src, dest, symlinks=True)
    return Path(dest)


def checkout_env(workdir):
    """Environment that makes a copy run its own scripts/snaketrain (not the installed checkout's), as a
    user's own checkout would after `pip install -e .`; tests that edit a copy's stage code rely on it."""
    scripts = Path(workdir) / "scripts"
    return {"PYTHONPATH": str(scripts)} if (scripts / "snaketrain").is_dir() else {}


def snakemake(workdir, *args, env=None, check=True, timeout=900):
    """Run the real snakemake CLI in workdir; returns the CompletedProcess (stdout and stderr merged)."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    full_env.update(checkout_env(workdir))
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-6000:]}")
    return result


def planned_jobs(workdir, *args):
    """Counter of rule -> jobs that a dry run plans (empty when nothing needs to be done)."""
    out = snakemake(workdir, "-n", *args).stdout
    if "Nothing to be done" in out:
        return Counter()
    table = out.split("Job stats:", 1)[1]
    jobs = Counter()
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs
