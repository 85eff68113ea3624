"""The named registry: names, promotion and rollback per name, migration of the flat layout."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_registry"
ROLLBACK = [sys.executable, "-m", "snaketrain.stages.rollback_model"]


def publish(root, tmp_path, name, content, model="rf"):
    path = tmp_path / f"{name}-{content}.bin"
    path.write_text(content)
    version, _ = registry.publish(root, {"pipeline.skops": path}, {"model": model, "metrics": {"f1": 0.9}}, name)
    return version


def test_each_name_has_its_own_versions_history_and_production(tmp_path):
    root = tmp_path / "registry"
    iris = publish(root, tmp_path, "iris", "a")
    churn = publish(root, tmp_path, "churn", "b")
    registry.promote(root, iris, "iris")
    registry.promote(root, churn, "churn")
    assert registry.names(root) == ["churn", "iris"]
    assert registry.production(root, "iris")["version"] == iris
    assert registry.production(root, "churn")["version"] == churn
    assert [v["version"] for v in registry.registered_versions(root, "iris")] == [iris]
    assert registry.production_path(root, "iris") == root / "models" / "iris" / "production.json"
    assert registry.metadata(root, iris, "iris")["name"] == "iris"
    with pytest.raises(StageError, match="version .* of model 'churn' is not in the registry"):
        registry.metadata(root, iris, "churn")


def test_the_same_content_under_two_names_is_two_entries(tmp_path):
    root = tmp_path / "registry"
    first = publish(root, tmp_path, "iris", "same")
    (tmp_path / "copy.bin").write_text("same")
    second, created = registry.publish(
        root, {"pipeline.skops": tmp_path / "copy.bin"}, {"model": "rf", "metrics": {}}, "flowers"
    )
    assert first == second and created
    assert registry.verified_files(root, first, "iris") and registry.verified_files(root, first, "flowers")
    registry.promote(root, first, "flowers")
    assert registry.production(root, "iris") is None


@pytest.mark.parametrize("name", ["", "../up", "a b", "x" * 65, ".hidden", None])
def test_a_name_is_validated_like_data_name(tmp_path, name):
    with pytest.raises(StageError, match="not a valid registered model name"):
        registry.production_path(tmp_path, name)


def test_rollback_walks_back_through_promotions_and_is_recorded(tmp_path):
    root = tmp_path / "registry"
    a, b, c = (publish(root, tmp_path, "iris", content) for content in "abc")
    for version in (a, b, c):
        registry.promote(root, version, "iris")
    assert registry.rollback(root, "iris") == (b, c)
    assert registry.production(root, "iris") == {
        "version": b,
        "previous": c,
        "promoted_at": registry.production(root, "iris")["promoted_at"],
    }
    assert registry.rollback(root, "iris") == (a, b)
    with pytest.raises(StageError, match="no earlier production version to roll back to"):
        registry.rollback(root, "iris")
    # a named version can always be put back, and a later rollback does not return to a rolled-back one
    assert registry.rollback(root, "iris", to=c) == (c, a)
    events = [e["event"] for e in registry.read_history(root, "iris")]
    assert events.count("rolled_back") == 3 and events[:2] == ["registered", "registered"]
    d = publish(root, tmp_path, "iris", "d")
    registry.promote(root, d, "iris")
    assert registry.rollback(root, "iris") == (c, d)


def test_rollback_refuses_without_production_an_unknown_or_a_damaged_version(tmp_path):
    root = tmp_path / "registry"
    a = publish(root, tmp_path, "iris", "a")
    with pytest.raises(StageError, match="has no production version"):
        registry.rollback(root, "iris")
    registry.promote(root, a, "iris")
    with pytest.raises(StageError, match="already in production"):
        registry.rollback(root, "iris", to=a)
    with pytest.raises(StageError, match="version 0123456789abcdef of model 'iris' is not in the registry"):
        registry.rollback(root, "iris", to="0123456789abcdef")
    b = publish(root, tmp_path, "iris", "b")
    (registry.version_dir(root, b, "iris") / "pipeline.skops").write_text("changed")
    before = registry.production_path(root, "iris").read_bytes()
    with pytest.raises(StageError, match="sha256 mismatch"):
        registry.rollback(root, "iris", to=b)
    assert registry.production_path(root, "iris").read_bytes() == before


def test_rollback_command_moves_production_and_explains_a_refusal(tmp_path):
    root = tmp_path / "registry"
    a, b = (publish(root, tmp_path, "iris", content) for content in "ab")
    registry.promote(root, a, "iris")
    registry.promote(root, b, "iris")
    done = subprocess.run([*ROLLBACK, "--registry", str(root), "--name", "iris"], capture_output=True, text=True)
    assert done.returncode == 0 and f"production of iris is now {a} (rolled back from {b})" in done.stdout
    refused = subprocess.run([*ROLLBACK, "--registry", str(root), "--name", "iris"], capture_output=True, text=True)
    assert refused.returncode == 1
    assert "[rollback_model] model 'iris' has no earlier production version" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_flat_registry_is_moved_under_its_name_without_losing_a_version(tmp_path, capsys):
    root = tmp_path / "registry"
    shutil.copytree(FIXTURE, root)
    flat_history = [json.loads(line) for line in (root / "history.jsonl").read_text().splitlines()]
    flat_pointer = json.loads((root / "production.json").read_text())
    flat_versions = sorted(p.name for p in (root / "versions").iterdir())
    metadata_before = {v: json.loads((root / "versions" / v / "metadata.json").read_text()) for v in flat_versions}

    assert registry.names(root) == ["breast_cancer"]
    message = capsys.readouterr().err
    assert message.count("moved the registry") == 1
    assert "2 version(s) under 'breast_cancer'" in message
    assert [v["version"] for v in registry.registered_versions(root, "breast_cancer")] == flat_versions[::-1]
    assert registry.read_history(root, "breast_cancer") == flat_history
    assert registry.production(root, "breast_cancer") == flat_pointer
    for version in flat_versions:
        registry.verified_files(root, version, "breast_cancer")
        assert registry.metadata(root, version, "breast_cancer") == {
            **metadata_before[version],
            "name": "breast_cancer",
        }
    assert sorted(p.name for p in root.iterdir()) == [".lock", "models"]
    # said once: the next call finds nothing to move
    assert registry.migrate(root, "breast_cancer") is None
    assert registry.names(root) == ["breast_cancer"]
    assert capsys.readouterr().err == ""
    # the moved history goes on; a version stored before safe storage is not put back in production
    with pytest.raises(StageError, match="registered before models were stored safely"):
        registry.rollback(root, "breast_cancer")


def test_an_interrupted_migration_is_finished_by_the_next_call(tmp_path):
    root = tmp_path / "registry"
    shutil.copytree(FIXTURE, root)
    # a crash after one version was moved: the flat index, history and pointer are still there
    version = sorted(p.name for p in (root / "versions").iterdir())[0]
    (root / "models" / "breast_cancer" / "versions").mkdir(parents=True)
    (root / "versions" / version).rename(root / "models" / "breast_cancer" / "versions" / version)
    history = (FIXTURE / "history.jsonl").read_text().splitlines()
    assert registry.migrate(root, "breast_cancer")
    assert len(registry.registered_versions(root, "breast_cancer")) == 2
    assert len(registry.read_history(root, "breast_cancer")) == len(history)
    assert not (root / "versions").exists()


def make_files(tmp_path, model=b"model-bytes", pre=b"pre-bytes"):
    (tmp_path / "m.joblib").write_bytes(model)
    (tmp_path / "p.joblib").write_bytes(pre)
    return {"model.joblib": tmp_path / "m.joblib", "preprocessor.joblib": tmp_path / "p.joblib"}


def test_same_bytes_give_the_same_version(tmp_path):
    root = tmp_path / "registry"
    files = make_files(tmp_path)
    first, created = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}}, "iris")
    again, created_again = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}}, "iris")
    assert first == again and created and not created_again
    other, _ = registry.publish(root, make_files(tmp_path, model=b"other"), {"model": "rf"}, "iris")
    assert other != first
    assert set(registry.read_index(root, "iris")["versions"]) == {first, other}
    assert not [p for p in (registry.model_dir(root, "iris") / "versions").iterdir() if p.name.startswith(".tmp")]


def test_promote_moves_the_pointer_and_remembers_the_previous(tmp_path):
    root = tmp_path / "registry"
    v1, _ = registry.publish(root, make_files(tmp_path), {"model": "a"}, "iris")
    v2, _ = registry.publish(root, make_files(tmp_path, model=b"2"), {"model": "b"}, "iris")
    assert registry.promote(root, v1, "iris") is None
    assert registry.promote(root, v2, "iris") == v1
    assert registry.production(root, "iris")["version"] == v2


def test_a_changed_file_is_refused(tmp_path):
    root = tmp_path / "registry"
    version, _ = registry.publish(root, make_files(tmp_path), {"model": "a"}, "iris")
    path = registry.version_dir(root, version, "iris") / "model.joblib"
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(StageError, match="sha256 mismatch"):
        registry.verified_files(root, version, "iris")
    with pytest.raises(StageError):
        registry.promote(root, version, "iris")
    assert registry.production(root, "iris") is None


def register(root, tmp_path, model, content, metrics, promote=True, name="iris"):
    path = tmp_path / f"{model}-{content}.bin"
    path.write_text(content)
    version, _ = registry.publish(
        root, {"model.joblib": path}, {"model": model, "task": "binary", "metrics": metrics}, name
    )
    if promote:
        registry.promote(root, version, name)
    return version


def history_lines(root, name="iris"):
    return (registry.model_dir(root, name) / "history.jsonl").read_text().splitlines()


def test_history_is_append_only_and_records_registrations_and_promotions(tmp_path):
    root = tmp_path / "registry"
    first = register(root, tmp_path, "logistic_regression", "a", {"f1": 0.90, "accuracy": 0.91})
    before = history_lines(root)
    second = register(root, tmp_path, "random_forest", "b", {"f1": 0.93, "accuracy": 0.92})
    after = history_lines(root)
    assert after[: len(before)] == before  # earlier lines are never rewritten
    events = [json.loads(line) for line in after]
    assert [(e["event"], e["version"]) for e in events] == [
        ("registered", first),
        ("promoted", first),
        ("registered", second),
        ("promoted", second),
    ]
    assert events[2]["metrics"] == {"f1": 0.93, "accuracy": 0.92}
    assert events[3]["previous"] == first
    # registering identical content again adds nothing: one entry per version
    register(root, tmp_path, "random_forest", "b", {"f1": 0.93, "accuracy": 0.92}, promote=False)
    assert history_lines(root) == after
    # written through a temporary file, none left behind
    assert not list(registry.model_dir(root, "iris").glob(".history.jsonl.*"))


def test_history_of_an_older_registry_is_read_from_its_index(tmp_path):
    root = tmp_path / "registry"
    version = register(root, tmp_path, "ridge", "a", {"rmse": 3.0})
    (registry.model_dir(root, "iris") / "history.jsonl").unlink()
    assert [v["version"] for v in registry.registered_versions(root, "iris")] == [version]
