"""The software environments agree: requirements.txt, environment.yml, workflow/envs/*.yaml, Containerfile."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def pip_pins(path):
    """{normalised name: version} of the `name==version` lines of a requirements file (extras dropped)."""
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"{path}: '{line}' is not pinned as name==version"
        pins[normalise(match.group(1))] = match.group(3)
    return pins


def conda_pins(path):
    """{normalised name: version} of the `name=version` dependencies of a conda environment file."""
    pins = {}
    for dep in yaml.safe_load((ROOT / path).read_text())["dependencies"]:
        if isinstance(dep, dict):  # a nested pip: list
            continue
        name, _, version = dep.partition("=")
        pins[normalise(name)] = version
    return pins


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_pins_the_same_versions_as_requirements():
    pip = pip_pins("requirements.txt")
    conda = conda_pins("environment.yml")
    assert conda.pop("python") == "3.11"
    assert conda.pop("pip") == ""
    assert conda == pip


@pytest.mark.parametrize("env", sorted(p.name for p in (ROOT / "workflow" / "envs").glob("*.yaml")))
def test_rule_environments_use_the_same_pins(env):
    pip = pip_pins("requirements.txt")
    pins = conda_pins(f"workflow/envs/{env}")
    assert pins.pop("python") == "3.11"
    assert pins, env
    for name, version in pins.items():
        assert pip.get(name) == version, f"workflow/envs/{env}: {name}={version}, requirements.txt: {pip.get(name)}"


def test_dev_requirements_are_pinned_and_do_not_repin_runtime_packages():
    dev = pip_pins("requirements-dev.txt")
    assert not set(dev) & set(pip_pins("requirements.txt"))


def test_container_image_installs_the_pinned_requirements():
    containerfile = (ROOT / "Containerfile").read_text()
    base = re.search(r"^FROM \S+python:(\d+\.\d+)", containerfile, re.MULTILINE)
    assert base and base.group(1) == "3.11", "the image's Python differs from environment.yml's"
    assert "pip install -r /opt/snaketrain/requirements.txt" in containerfile
    for source in re.findall(r"^COPY (\S+) ", containerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"Containerfile copies {source}, which does not exist"
