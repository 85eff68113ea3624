"""Two project directories share one registry and one registered model name, and run at the same time: no
version reaches production without its gate having compared it with the version it replaced.

Made deterministic in two steps: both runs go up to the gate first (both compare with "nothing in
production"), then both go on and are held at the start of deploy_model (the SNAKETRAIN_PAUSE_AT hook) until
both are there, and are released together. Exactly one promotes; the other's deploy refuses, saying that
production moved and how to fix it, and rerunning its gate as told promotes it after comparing with the winner.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.harness import checkout_env, copy_project, snakemake

from snaketrain.registry import model_registry as registry

pytestmark = pytest.mark.workflow

NAME = "shared"
# one fast model with one candidate each; the two runs differ in it, so they register two versions
OVERLAY = """\
models: [linear]
estimators:
  linear: {{search_space: {{C: [{c}]}}}}
tuning:
  cv: 2
gate:
  tolerance: 1.0
registry:
  path: {registry}
  model_name: {name}
"""
ARGS = ("--cores", "1", "--configfile", "config/promotion.yaml")
GATE = "results/gate/decision.json"


def project(tmp_path, label, c, shared):
    workdir = copy_project(tmp_path / label)
    (workdir / "config/promotion.yaml").write_text(OVERLAY.format(c=c, registry=shared, name=NAME))
    return workdir


def start(workdir, *args, pause_at=None, marker=None):
    """snakemake in workdir, in the background (targets before --configfile, which takes several values); its
    output goes to workdir/run.out."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    env.update(checkout_env(workdir))
    if pause_at:
        env.update({"SNAKETRAIN_PAUSE_AT": pause_at, "SNAKETRAIN_PAUSE_MARKER": str(marker)})
    out = open(workdir / "run.out", "w")  # noqa: SIM115 - closed by the process's end
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args, *ARGS], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
    )


def finish(workdir, process):
    process.wait(timeout=600)
    return process.returncode, (workdir / "run.out").read_text()


def wait_for(marker, workdir, process, timeout=600):
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended before deploy_model started:\n{(workdir / 'run.out').read_text()[-4000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the run did not reach deploy_model in time")
        time.sleep(0.05)


def read(workdir, path):
    return json.loads((workdir / path).read_text())


def test_two_runs_sharing_a_name_never_promote_a_version_not_compared_with_the_one_it_replaced(tmp_path):
    shared = tmp_path / "shared-registry"
    runs = [project(tmp_path, "a", 1.0, shared), project(tmp_path, "b", 0.1, shared)]

    # 1. both gates at once, while nothing is in production
    for workdir, process in [(w, start(w, GATE)) for w in runs]:
        code, out = finish(workdir, process)
        assert code == 0, out[-4000:]
    decisions = {w: read(w, GATE) for w in runs}
    assert [d["passed"] for d in decisions.values()] == [True, True]
    assert [d["compared_with"] for d in decisions.values()] == [None, None]

    # 2. both register, then deploy at the same moment
    markers = {w: tmp_path / f"deploying-{w.name}" for w in runs}
    started = [(w, start(w, pause_at="start:deploy_model", marker=markers[w])) for w in runs]
    for workdir, process in started:
        wait_for(markers[workdir], workdir, process)
    versions = {w: read(w, "results/registry/receipt.json")["version"] for w in runs}
    assert len(set(versions.values())) == 2  # two different candidates for one name
    for marker in markers.values():
        marker.unlink()
    results = {w: finish(w, p) for w, p in started}
    winners = [w for w in runs if results[w][0] == 0]
    assert len(winners) == 1, {w.name: out[-3000:] for w, (_, out) in results.items()}
    (winner,) = winners
    (loser,) = [w for w in runs if w is not winner]
    won, lost = versions[winner], versions[loser]

    # the losing deploy says what moved and how to fix it; nothing registered is lost
    out = results[loser][1]
    assert (
        f"[deploy_model] production of {NAME} moved from nothing in production to {won} (promoted at " in out
    ), out[-4000:]
    assert "since the gate compared with nothing in production" in out
    assert f"version {lost} was not promoted: it stays registered and production stays {won}" in out
    assert "snakemake --cores 4 --forcerun quality_gate" in out
    assert registry.production(shared, NAME)["version"] == won
    assert set(registry.read_index(shared, NAME)["versions"]) == {won, lost}
    assert not (loser / "results/deploy/receipt.json").exists()

    # 3. the fix as the message gives it: the gate compares with the winner, and the deploy then promotes
    snakemake(loser, *ARGS, "--forcerun", "quality_gate")
    decisions[loser] = read(loser, GATE)
    assert decisions[loser]["compared_with"] == won
    assert read(loser, "results/registry/receipt.json")["version"] == lost  # same content, same version

    # every promotion replaced exactly the version its gate compared with
    decided = {versions[w]: decisions[w] for w in runs}
    promotions = [e for e in registry.read_history(shared, NAME) if e["event"] == "promoted"]
    assert [(e["version"], e["previous"]) for e in promotions] == [(won, None), (lost, won)]
    for event in promotions:
        assert event["previous"] == decided[event["version"]]["compared_with"]
    assert registry.production(shared, NAME)["version"] == lost
    assert Path(loser / "results/deploy/receipt.json").is_file()
