"""The model registry: content-addressed versions, the production pointer, sha256 checks, the append-only history."""

import json
import os

import pytest

from snaketrain import model_registry as registry
from snaketrain.stage_log import StageError


def make_files(tmp_path, model=b"model-bytes", pre=b"pre-bytes"):
    (tmp_path / "m.joblib").write_bytes(model)
    (tmp_path / "p.joblib").write_bytes(pre)
    return {"model.joblib": tmp_path / "m.joblib", "preprocessor.joblib": tmp_path / "p.joblib"}


def test_same_bytes_give_the_same_version(tmp_path):
    root = tmp_path / "registry"
    files = make_files(tmp_path)
    first, created = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}})
    again, created_again = registry.publish(root, files, {"model": "rf", "metrics": {"f1": 0.9}})
    assert first == again and created and not created_again
    other, _ = registry.publish(root, make_files(tmp_path, model=b"other"), {"model": "rf"})
    assert other != first
    assert set(registry.read_index(root)["versions"]) == {first, other}
    assert not [p for p in (root / "versions").iterdir() if p.name.startswith(".tmp")]


def test_promote_moves_the_pointer_and_remembers_the_previous(tmp_path):
    root = tmp_path / "registry"
    v1, _ = registry.publish(root, make_files(tmp_path), {"model": "a"})
    v2, _ = registry.publish(root, make_files(tmp_path, model=b"2"), {"model": "b"})
    assert registry.promote(root, v1) is None
    assert registry.promote(root, v2) == v1
    assert registry.production(root)["version"] == v2


def test_a_changed_file_is_refused(tmp_path):
    root = tmp_path / "registry"
    version, _ = registry.publish(root, make_files(tmp_path), {"model": "a"})
    path = root / "versions" / version / "model.joblib"
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(StageError, match="sha256 mismatch"):
        registry.verified_files(root, version)
    with pytest.raises(StageError):
        registry.promote(root, version)
    assert registry.production(root) is None


def register(root, tmp_path, name, content, metrics, promote=True):
    model = tmp_path / f"{name}-{content}.bin"
    model.write_text(content)
    version, _ = registry.publish(root, {"model.joblib": model}, {"model": name, "task": "binary", "metrics": metrics})
    if promote:
        registry.promote(root, version)
    return version


def history_lines(root):
    return (root / "history.jsonl").read_text().splitlines()


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
    assert not list(root.glob(".history.jsonl.*"))  # written through a temporary file, none left behind


def test_history_of_an_older_registry_is_read_from_its_index(tmp_path):
    root = tmp_path / "registry"
    version = register(root, tmp_path, "ridge", "a", {"rmse": 3.0})
    (root / "history.jsonl").unlink()
    assert [v["version"] for v in registry.registered_versions(root)] == [version]
