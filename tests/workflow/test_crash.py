"""Killed runs lose nothing and leave nothing half-written; concurrent runs cannot corrupt the registry.

A run is stopped at a known point with the SNAKETRAIN_PAUSE_AT test hook (stage_log.pause_point): the
stage writes a marker file and waits, the test sees the marker and SIGKILLs the whole process group.
Then the documented recovery (docs/guarantees.md) must finish the run with the same results as an
uninterrupted one.
"""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import joblib
import pandas as pd
import pytest
from tests.harness import clone_run, snakemake
from tests.workflow.small_runs import (
    NAME,
    SMALL_ARGS,
    differences,
    is_leftover_temp,
    release_branch,
    small_project,
    small_run,
)

from snaketrain.registry import model_registry as registry

pytestmark = pytest.mark.workflow

# the recovery after a kill, exactly as docs/guarantees.md documents it
RECOVERY = (("--unlock",), ("--cores", "4", "--rerun-incomplete"))


def start(workdir, pause_at, marker, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    env.update({"SNAKETRAIN_PAUSE_AT": pause_at, "SNAKETRAIN_PAUSE_MARKER": str(marker)})
    out = open(Path(marker).with_suffix(".out"), "w")  # noqa: SIM115 - closed by the process's end
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", *SMALL_ARGS, *args],
        cwd=workdir,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so that the kill reaches every child
    )


def wait_for(marker, process, timeout=600):
    deadline = time.monotonic() + timeout
    while not Path(marker).exists():
        if process.poll() is not None:
            output = Path(marker).with_suffix(".out").read_text()
            pytest.fail(f"the run ended ({process.returncode}) before reaching the pause point:\n{output[-4000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the run did not reach the pause point in time")
        time.sleep(0.05)


def kill_group(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


def recover(workdir):
    for args in RECOVERY:
        snakemake(workdir, *args, *SMALL_ARGS)


def assert_nothing_partial(workdir):
    """Every artifact under a final name loads; only temporary names may hold leftovers of the kill."""
    checked = 0
    for path in sorted(workdir.rglob("*")):
        rel = path.relative_to(workdir).as_posix()
        if not path.is_file() or not rel.startswith(("resources/", "results/", "registry/")):
            continue
        if is_leftover_temp(rel):
            continue
        if path.suffix == ".parquet":
            pd.read_parquet(path)
        elif path.suffix == ".joblib":
            joblib.load(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".png":
            assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and path.read_bytes().endswith(b"IEND\xaeB`\x82")
        checked += 1
    return checked


def assert_registry_whole(root, name=NAME):
    """No partial version under a final name; the index and the pointer name only whole versions."""
    root = Path(root)
    versions = sorted(p.name for p in (registry.model_dir(root, name) / "versions").iterdir() if not p.name.startswith("."))
    for version in versions:
        registry.verified_files(root, version, name)
    index = registry.read_index(root, name)["versions"]
    assert set(index) <= set(versions)
    pointer = registry.production(root, name)
    if pointer:
        registry.verified_files(root, pointer["version"], name)
    return versions, index, pointer


@pytest.fixture(scope="module")
def release_reference(tmp_path_factory):
    """An uninterrupted run of the release branch: what every recovered release run must equal."""
    workdir = release_branch(small_run(tmp_path_factory), tmp_path_factory.mktemp("release-ref") / "project")
    snakemake(workdir, "--cores", "2", *SMALL_ARGS)
    return workdir


def test_kill_during_tuning_then_recover(tmp_path_factory, tmp_path):
    workdir = small_project(tmp_path / "project")
    marker = tmp_path / "paused"
    process = start(workdir, "start:tune_model", marker)
    wait_for(marker, process)
    kill_group(process)

    assert assert_nothing_partial(workdir) > 0
    assert not (workdir / "registry").exists()
    # a plain rerun refuses: the killed run's lock is still there, and the message says what to do
    refused = snakemake(workdir, "--cores", "4", *SMALL_ARGS, check=False)
    assert refused.returncode != 0
    assert "Directory cannot be locked" in refused.stdout
    assert "--unlock" in refused.stdout

    recover(workdir)
    assert differences(workdir, small_run(tmp_path_factory), skip_temp=True) == []
    assert_registry_whole(workdir / "registry")


@pytest.mark.parametrize(
    "point",
    ["publish:staged", "publish:placed", "promote:locked"],
    ids=["registration, version staged", "registration, version placed before indexing", "deployment"],
)
def test_kill_during_release_then_recover(tmp_path_factory, tmp_path, release_reference, point):
    workdir = release_branch(small_run(tmp_path_factory), tmp_path / "project")
    root = workdir / "registry"
    production_before = registry.production(root, NAME)["version"]
    marker = tmp_path / "paused"
    process = start(workdir, point, marker)
    wait_for(marker, process)
    kill_group(process)

    assert_nothing_partial(workdir)
    versions, index, pointer = assert_registry_whole(root)
    assert pointer["version"] == production_before
    candidate = json.loads((release_reference / "registry/models/breast_cancer/production.json").read_text())["version"]
    if point == "publish:staged":
        assert candidate not in versions
        assert any(p.name.startswith(f".tmp-{candidate}") for p in (registry.model_dir(root, NAME) / "versions").iterdir())
    else:
        assert candidate in versions
    if point == "publish:placed":
        assert candidate not in index

    recover(workdir)
    versions, index, pointer = assert_registry_whole(root)
    assert pointer["version"] == candidate
    assert pointer["previous"] == production_before
    assert candidate in index
    assert differences(workdir, release_reference, skip_temp=True) == []


def test_second_run_in_the_same_directory_refuses_and_harms_nothing(tmp_path_factory, tmp_path, release_reference):
    workdir = release_branch(small_run(tmp_path_factory), tmp_path / "project")
    marker = tmp_path / "paused"
    first = start(workdir, "promote:locked", marker)
    wait_for(marker, first)
    second = snakemake(workdir, "--cores", "2", *SMALL_ARGS, check=False)
    assert second.returncode != 0
    assert "LockException" in second.stdout
    assert "Directory cannot be locked" in second.stdout
    marker.unlink()  # let the first run go on
    assert first.wait(timeout=600) == 0, marker.with_suffix(".out").read_text()[-4000:]
    assert differences(workdir, release_reference) == []
    assert_registry_whole(workdir / "registry")


def test_two_runs_sharing_one_registry_publish_at_the_same_moment(tmp_path_factory, tmp_path):
    source = small_run(tmp_path_factory)
    shared = tmp_path / "shared-registry"
    overlay = f"registry:\n  path: {shared}\n"
    runs = []
    for name in ("a", "b"):
        workdir = clone_run(source, tmp_path / name)
        for part in ("results/gate", "results/registry", "results/deploy"):
            subprocess.run(["rm", "-rf", str(workdir / part)], check=True)
        (workdir / "config/shared.yaml").write_text(overlay)
        marker = tmp_path / f"paused-{name}"
        runs.append((workdir, marker, start(workdir, "publish:staged", marker, "config/shared.yaml")))
    for _, marker, process in runs:
        wait_for(marker, process)
    # both have staged the same version; release them together so that both rename at once
    for _, marker, _ in runs:
        marker.unlink()
    for _, marker, process in runs:
        assert process.wait(timeout=600) == 0, marker.with_suffix(".out").read_text()[-4000:]
    versions, index, pointer = assert_registry_whole(shared)
    expected = json.loads((source / "registry/models/breast_cancer/production.json").read_text())["version"]
    assert versions == [expected]
    assert list(index) == [expected]
    assert pointer["version"] == expected
    assert not [p for p in (registry.model_dir(shared, NAME) / "versions").iterdir() if p.name.startswith(".")]
    receipts = [json.loads((w / "results/registry/receipt.json").read_text()) for w, _, _ in runs]
    assert sorted(r["created"] for r in receipts) == [False, True]


def publish_many(root, worker, count):
    """Publish count distinct versions from one process; promote each; return their ids."""
    staging = Path(root).parent / f"files-{worker}"
    staging.mkdir(parents=True, exist_ok=True)
    ids = []
    for number in range(count):
        model = staging / "model.joblib"
        model.write_bytes(f"model {worker}-{number}".encode() * 1000)
        version, created = registry.publish(
            root, {"model.joblib": model}, {"model": f"m{worker}", "metrics": {}}, NAME
        )
        assert created
        registry.promote(root, version, NAME)
        ids.append(version)
    return ids


def test_parallel_processes_publishing_to_one_registry_keep_its_index_whole(tmp_path):
    root = tmp_path / "registry"
    workers, each = 6, 5
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(publish_many, [root] * workers, range(workers), [each] * workers))
    published = {version for ids in results for version in ids}
    assert len(published) == workers * each
    versions, index, pointer = assert_registry_whole(root)
    assert set(index) == published == set(versions)
    assert pointer["version"] in published
