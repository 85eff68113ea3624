"""The deploy_model stage: the registered version becomes production, and the receipt says what it replaced;
production moves only from the version the gate compared with (compare-and-swap)."""

import json

import pytest

from snaketrain.registry import model_registry
from snaketrain.stage_log import StageError
from snaketrain.stages.deploy_model import run
from snaketrain.table_io import write_json


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def deploy(tmp_path, version, compared_with):
    write_json({"version": version}, tmp_path / "registered.json")
    write_json({"passed": True, "compared_with": compared_with}, tmp_path / "decision.json")
    run(
        Job(receipt=str(tmp_path / "registered.json"), decision=str(tmp_path / "decision.json")),
        Job(receipt=str(tmp_path / "deployed.json")),
        Job(registry=str(tmp_path / "registry"), name="toy"),
        [str(tmp_path / "deploy_model.log")],
    )
    return json.loads((tmp_path / "deployed.json").read_text())


def publish(tmp_path, *contents):
    versions = []
    for content in contents:
        (tmp_path / "model.bin").write_text(content)
        files = {"model.joblib": tmp_path / "model.bin"}
        versions.append(model_registry.publish(tmp_path / "registry", files, {"model": "m"}, "toy")[0])
    return versions


def test_deploying_moves_production_and_records_the_previous_version(tmp_path):
    root = tmp_path / "registry"
    versions = publish(tmp_path, "first", "second")
    first = deploy(tmp_path, versions[0], None)
    assert first["version"] == versions[0] and first["previous"] is None
    second = deploy(tmp_path, versions[1], versions[0])
    assert second["previous"] == versions[0] and second["promoted_at"]
    assert model_registry.production(root, "toy")["version"] == versions[1]
    assert f"production of toy: {versions[1]} (was {versions[0]})" in (tmp_path / "deploy_model.log").read_text()


def test_a_deploy_gated_against_an_older_production_fails_and_changes_nothing(tmp_path):
    root = tmp_path / "registry"
    ours, theirs = publish(tmp_path, "ours", "theirs")
    model_registry.promote(root, theirs, "toy")  # another run, after our gate compared with "nothing"
    pointer = model_registry.production_path(root, "toy").read_bytes()
    with pytest.raises(StageError) as raised:
        deploy(tmp_path, ours, None)
    message = str(raised.value)
    assert message.startswith(
        f"[deploy_model] production of toy moved from nothing in production to {theirs} (promoted at "
    )
    assert "since the gate compared with nothing in production" in message
    assert f"version {ours} was not promoted: it stays registered and production stays {theirs}" in message
    assert "fix: rerun the gate" in message and "snakemake --cores 4 --forcerun quality_gate" in message
    assert model_registry.production_path(root, "toy").read_bytes() == pointer
    assert ours in model_registry.read_index(root, "toy")["versions"]
    assert not (tmp_path / "deployed.json").exists()
    assert "production of toy moved from" in (tmp_path / "deploy_model.log").read_text()


def test_a_decision_without_compared_with_asks_for_the_gate_again(tmp_path):
    (version,) = publish(tmp_path, "one")
    write_json({"version": version}, tmp_path / "registered.json")
    write_json({"passed": True}, tmp_path / "decision.json")
    with pytest.raises(StageError, match="does not record which production version it compared with"):
        run(
            Job(receipt=str(tmp_path / "registered.json"), decision=str(tmp_path / "decision.json")),
            Job(receipt=str(tmp_path / "deployed.json")),
            Job(registry=str(tmp_path / "registry"), name="toy"),
            [str(tmp_path / "deploy_model.log")],
        )
    assert model_registry.production(tmp_path / "registry", "toy") is None


def deploy_experiments(tmp_path, candidates, compared_with=None):
    """Deploy one name from several experiments: candidates {experiment: (f1, version or None if failed)}."""
    decisions, receipts = [], []
    for experiment, (value, version) in candidates.items():
        decision = {"passed": version is not None, "metric": "f1", "value": value, "compared_with": compared_with}
        write_json(decision, tmp_path / f"{experiment}-decision.json")
        decisions.append(str(tmp_path / f"{experiment}-decision.json"))
        if version is not None:
            write_json({"version": version}, tmp_path / f"{experiment}-registered.json")
            receipts.append(str(tmp_path / f"{experiment}-registered.json"))
    run(
        Job(receipt=receipts, decision=decisions),
        Job(receipt=str(tmp_path / "deployed.json")),
        Job(registry=str(tmp_path / "registry"), name="toy", experiments=list(candidates)),
        [str(tmp_path / "deploy_model.log")],
    )
    return json.loads((tmp_path / "deployed.json").read_text())


def test_the_best_passed_experiment_is_promoted_once_ties_to_the_first_name(tmp_path):
    a, b, c = publish(tmp_path, "a", "b", "c")
    receipt = deploy_experiments(
        tmp_path, {"zeta": (0.9, a), "beta": (0.9, b), "alpha": (0.95, None), "gamma": (0.8, c)}
    )
    assert receipt["experiment"] == "beta" and receipt["version"] == b  # alpha failed its gate; beta ties zeta
    assert [c["experiment"] for c in receipt["candidates"]] == ["zeta", "beta", "alpha", "gamma"]
    history = model_registry.read_history(tmp_path / "registry", "toy")
    assert [event["version"] for event in history if event["event"] == "promoted"] == [b]


def test_no_passed_experiment_leaves_production_alone(tmp_path):
    receipt = deploy_experiments(tmp_path, {"a": (0.5, None), "b": (0.6, None)})
    assert receipt["version"] is None and receipt["reason"] == "no experiment passed its gate"
    assert model_registry.production(tmp_path / "registry", "toy") is None


def test_the_best_experiment_is_promoted_only_from_what_its_gate_compared_with(tmp_path):
    ours, theirs = publish(tmp_path, "ours", "theirs")
    model_registry.promote(tmp_path / "registry", theirs, "toy")  # another run, after our gates compared with nothing
    with pytest.raises(StageError, match=f"production of toy moved from nothing in production to {theirs}"):
        deploy_experiments(tmp_path, {"x": (0.9, ours), "y": (0.8, None)})
    assert model_registry.production(tmp_path / "registry", "toy")["version"] == theirs
    assert deploy_experiments(tmp_path, {"x": (0.9, ours)}, compared_with=theirs)["previous"] == theirs
