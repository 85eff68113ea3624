"""The package's layout keeps its floors: lint-imports passes, fails on a sideways or upward import, and every
module is where a newcomer looks for it (scripts/snaketrain/__init__.py)."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.harness import ROOT

PACKAGE = ROOT / "scripts" / "snaketrain"
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def lint_imports(package_parent):
    """lint-imports with the project's contracts, on the snaketrain package found under package_parent."""
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=package_parent,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
    )


def test_every_ground_floor_module_is_in_the_ground_floor_contract():
    ground = {f"snaketrain.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    contract = next(c for c in CONTRACTS if c["id"] == "ground-floor")
    assert ground == set(contract["source_modules"])
    assert len(ground) <= 14  # the root holds the ground floor only (about a dozen modules)


def test_only_stages_have_a_rule_entry_point():
    with_run = {
        path.relative_to(PACKAGE).parts[0]
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^def run\(", path.read_text(), re.M)
    }
    assert with_run == {"stages"}


def test_every_rule_calls_the_stage_module_named_after_it():
    rules = ROOT / "workflow" / "rules"
    calls = re.findall(
        r"^rule (\w+):.*?from snaketrain\.stages\.(\w+) import run",
        "\n".join(p.read_text() for p in sorted(rules.glob("*.smk"))),
        re.M | re.S,
    )
    assert calls and all(rule == module for rule, module in calls)


def test_the_contracts_hold():
    result = lint_imports(ROOT / "scripts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, bad_import, contract",
    [
        ("stages/tune_model.py", "from snaketrain.stages.split_data import split", "No stage imports another stage"),
        ("serving/service.py", "from snaketrain.stages import predict", "Stages above serving"),
        ("table_io.py", "from snaketrain.registry import model_registry", "The ground floor imports nothing"),
    ],
)
def test_a_bad_import_breaks_a_contract(tmp_path, module, bad_import, contract):
    copy = shutil.copytree(PACKAGE, tmp_path / "snaketrain")
    path = copy / module
    path.write_text(path.read_text() + f"\n{bad_import}  # deliberate\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert re.search(rf"{re.escape(contract)}.*BROKEN", result.stdout.replace("\n", " ")), result.stdout
