"""The deploy_model stage: the registered version becomes production, and the receipt says what it replaced."""

import json

from snaketrain.registry import model_registry
from snaketrain.stages.deploy_model import run
from snaketrain.table_io import write_json


class Job:
    """The input/output/params/log objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def deploy(tmp_path, version):
    write_json({"version": version}, tmp_path / "registered.json")
    run(
        Job(receipt=str(tmp_path / "registered.json")),
        Job(receipt=str(tmp_path / "deployed.json")),
        Job(registry=str(tmp_path / "registry"), name="toy"),
        [str(tmp_path / "deploy_model.log")],
    )
    return json.loads((tmp_path / "deployed.json").read_text())


def test_deploying_moves_production_and_records_the_previous_version(tmp_path):
    root = tmp_path / "registry"
    versions = []
    for content in ("first", "second"):
        (tmp_path / "model.bin").write_text(content)
        versions.append(
            model_registry.publish(root, {"model.joblib": tmp_path / "model.bin"}, {"model": "m"}, "toy")[0]
        )
    first = deploy(tmp_path, versions[0])
    assert first["version"] == versions[0] and first["previous"] is None
    second = deploy(tmp_path, versions[1])
    assert second["previous"] == versions[0] and second["promoted_at"]
    assert model_registry.production(root, "toy")["version"] == versions[1]
    assert f"production of toy: {versions[1]} (was {versions[0]})" in (tmp_path / "deploy_model.log").read_text()
