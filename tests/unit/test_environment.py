"""The software environments agree: requirements*.txt, environment.yml, Containerfile."""

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


def extra_requirement_files():
    """requirements-<extra>.txt: dev tools and the optional extras, each installed on top of requirements.txt."""
    return sorted(path.name for path in ROOT.glob("requirements-*.txt"))


def test_the_light_environment_holds_no_executor_or_storage_plugin():
    # Snakemake imports every installed plugin at every start: they are the cluster extra, not the default
    plugins = [name for name in pip_pins("requirements.txt") if name.startswith("snakemake-") and "plugin" in name]
    assert plugins == []
    assert not [name for name in conda_pins("environment.yml") if "plugin" in name]


@pytest.mark.parametrize("extra", extra_requirement_files())
def test_extra_requirements_are_pinned_and_do_not_repin_runtime_packages(extra):
    pins = pip_pins(extra)
    assert pins, extra
    assert not set(pins) & set(pip_pins("requirements.txt")), extra


def test_extras_do_not_pin_one_package_twice():
    seen = {}
    for extra in extra_requirement_files():
        for name in pip_pins(extra):
            assert name not in seen, f"{name} is pinned in {seen.get(name)} and {extra}"
            seen[name] = extra


def test_cluster_extra_holds_the_plugins_the_profiles_name():
    cluster = pip_pins("requirements-cluster.txt")
    named = set()
    for profile in sorted((ROOT / "profiles").glob("*/config.yaml")):
        executor = yaml.safe_load(profile.read_text()).get("executor", "local")
        if executor != "local":
            named.add(f"snakemake-executor-plugin-{executor}")
        if "default-storage-provider: s3" in profile.read_text():
            named.add("snakemake-storage-plugin-s3")
    assert named, "no profile names an executor plugin"
    assert named <= set(cluster)


def test_container_image_installs_the_pinned_requirements():
    containerfile = (ROOT / "Containerfile").read_text()
    base = re.search(r"^FROM \S+python:(\d+\.\d+)", containerfile, re.MULTILINE)
    assert base and base.group(1) == "3.11", "the image's Python differs from environment.yml's"
    # the pods' snakemake reads and writes through the S3 storage plugin: the image holds the cluster extra too
    assert (
        "pip install -r /opt/snaketrain/requirements.txt -r /opt/snaketrain/requirements-cluster.txt" in containerfile
    )
    for source in re.findall(r"^COPY (\S+) ", containerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"Containerfile copies {source}, which does not exist"


def test_the_light_environment_can_build_the_report():
    # report.html is built after every run that did work (snakemake --report): Snakemake's "reports" extra must
    # be pinned in requirements.txt itself, not come along with a test tool (pygments came with pytest)
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    needed = [Requirement(line) for line in requires("snakemake") or []]
    reports = {normalise(req.name) for req in needed if req.marker and req.marker.evaluate({"extra": "reports"})}
    assert reports, "snakemake names no 'reports' extra"
    assert reports <= set(pip_pins("requirements.txt"))


def test_package_extras_install_their_requirements_files():
    # pip install -e '.[cluster]' installs what `make setup-cluster` does
    import tomllib

    dynamic = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"]
    extras = dynamic.get("optional-dependencies", {})
    assert extras["cluster"] == {"file": ["requirements-cluster.txt"]}
    for extra, source in extras.items():
        for name in source["file"]:
            assert (ROOT / name).is_file(), f"extra {extra}: {name} does not exist"
