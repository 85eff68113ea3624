"""The history/diff command (snaketrain-history): the registry's versions as a table, newest vs production."""

import json
import subprocess
import sys

import pytest

from snaketrain.orchestration.metrics_history import diff, summary
from snaketrain.registry import model_registry as registry

COMMAND = [sys.executable, "-m", "snaketrain.orchestration.metrics_history"]
NAME = "churn"


def register(root, tmp_path, name, content, metrics, promote=True, model_name=NAME):
    model = tmp_path / f"{name}-{content}.bin"
    model.write_text(content)
    version, _ = registry.publish(
        root, {"model.joblib": model}, {"model": name, "task": "binary", "metrics": metrics}, model_name
    )
    if promote:
        registry.promote(root, version, model_name)
    return version


def test_diff_compares_newest_with_production_and_knows_which_way_is_better():
    rows = diff({"metrics": {"f1": 0.95, "rmse": 2.0}}, {"metrics": {"f1": 0.90, "rmse": 1.5}})
    by_metric = {row["metric"]: row for row in rows}
    assert by_metric["f1"]["change"] == pytest.approx(0.05)
    assert by_metric["f1"]["better"] is True
    assert by_metric["rmse"]["change"] == pytest.approx(0.5)
    assert by_metric["rmse"]["better"] is False  # a higher error is worse


def test_command_prints_the_history_table_and_the_diff(tmp_path):
    root = tmp_path / "registry"
    old = register(root, tmp_path, "logistic_regression", "a", {"f1": 0.9, "accuracy": 0.91})
    new = register(root, tmp_path, "random_forest", "b", {"f1": 0.95, "accuracy": 0.90}, promote=False)
    result = subprocess.run([*COMMAND, "--registry", str(root)], capture_output=True, text=True, check=True)
    out = result.stdout
    assert out.startswith(f"Metrics history of {NAME} in {root}")
    table = out.split("\n\n")[1].splitlines()
    # binary versions registered without a positive class: their F1 is of the larger label
    header = ["#", "version", "model", "registered_at", "positive_class", "accuracy", "f1", "status"]
    assert table[0].split() == header
    assert table[1].split()[4] == "larger-label"
    assert table[1].split()[:3] == ["1", old, "logistic_regression"]
    assert table[1].split()[-1] == "production"
    assert table[2].split()[:3] == ["2", new, "random_forest"]
    assert f"Newest vs production (like dvc metrics diff): {new} vs {old}" in out
    diff_lines = {line.split()[0]: line.split() for line in out.split("dvc metrics diff")[1].splitlines()[2:]}
    assert diff_lines["f1"][1:] == ["0.9", "0.95", "+0.05", "better"]
    assert diff_lines["accuracy"][1:] == ["0.91", "0.9", "-0.01", "worse"]
    as_json = json.loads(
        subprocess.run(
            [*COMMAND, "--registry", str(root), "--name", NAME, "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert as_json["newest"] == new and as_json["production"] == old
    assert summary(root, NAME)["diff"] == as_json["diff"]


def test_command_says_when_newest_is_production_and_fails_on_an_empty_registry(tmp_path):
    root = tmp_path / "registry"
    empty = subprocess.run([*COMMAND, "--registry", str(root)], capture_output=True, text=True)
    assert empty.returncode == 1
    assert "no registered versions" in empty.stderr
    version = register(root, tmp_path, "ridge", "a", {"f1": 0.9})
    out = subprocess.run([*COMMAND, "--registry", str(root)], capture_output=True, text=True, check=True).stdout
    assert f"The newest version {version} is in production: no difference." in out


def test_command_lists_every_name_and_diffs_any_two_versions_of_one(tmp_path):
    root = tmp_path / "registry"
    first = register(root, tmp_path, "ridge", "a", {"rmse": 3.0, "r2": 0.5}, model_name="houses")
    second = register(root, tmp_path, "random_forest", "b", {"rmse": 2.5, "r2": 0.6}, model_name="houses")
    register(root, tmp_path, "logistic_regression", "c", {"f1": 0.9}, model_name="churn")
    listed = subprocess.run([*COMMAND, "--registry", str(root)], capture_output=True, text=True, check=True).stdout
    assert f"Metrics history of churn in {root} (1 registered version(s)" in listed
    assert f"Metrics history of houses in {root} (2 registered version(s)" in listed
    out = subprocess.run(
        [*COMMAND, "--registry", str(root), "--name", "houses", "--diff", first, second],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith(f"Version {second} vs {first} of houses")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert rows["rmse"] == ["3", "2.5", "-0.5", "better"]
    assert rows["r2"] == ["0.5", "0.6", "+0.1", "better"]
    unknown = subprocess.run(
        [*COMMAND, "--registry", str(root), "--name", "houses", "--diff", first, "0123456789abcdef"],
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 1 and "model 'houses' has no version 0123456789abcdef" in unknown.stderr
    missing = subprocess.run([*COMMAND, "--registry", str(root), "--name", "nope"], capture_output=True, text=True)
    assert missing.returncode == 1 and "names there: churn, houses" in missing.stderr


def test_f1s_of_different_positive_classes_are_not_compared():
    """A version registered before positive classes has F1 of the larger label; a new one of its positive class:
    the diff shows both values but no change or verdict for F1, precision and recall, and says why."""
    old = {"task": "binary", "metrics": {"f1": 0.97, "accuracy": 0.95}}
    new = {"task": "binary", "positive_class": "bad", "metrics": {"f1": 0.41, "accuracy": 0.93}}
    by_metric = {row["metric"]: row for row in diff(new, old)}
    assert by_metric["f1"]["change"] is None and by_metric["f1"]["better"] is None
    assert by_metric["f1"]["note"] == "of class larger-label vs class bad: not compared"
    assert by_metric["accuracy"]["change"] == pytest.approx(-0.02)
    same = {row["metric"]: row for row in diff({**new, "metrics": {"f1": 0.45}}, new)}
    assert same["f1"]["change"] == pytest.approx(0.04) and "note" not in same["f1"]


def test_the_history_table_names_each_versions_positive_class(tmp_path):
    root = tmp_path / "registry"
    register(root, tmp_path, "rf", "a", {"f1": 0.97})
    model = tmp_path / "new.bin"
    model.write_text("b")
    meta = {"model": "rf", "task": "binary", "positive_class": "bad", "metrics": {"f1": 0.41}}
    version, _ = registry.publish(root, {"model.joblib": model}, meta, NAME)
    out = subprocess.run([*COMMAND, "--registry", str(root), "--name", NAME], capture_output=True, text=True).stdout
    assert "positive_class" in out and "larger-label" in out and " bad " in out
    assert "of class larger-label vs class bad: not compared" in out
    assert registry.registered_versions(root, NAME)[-1]["positive_class"] == "bad"
