"""Each rule's code digest follows the snaketrain modules its stage imports, and only those."""

import shutil

import pytest

from snaketrain.orchestration.code_digest import PACKAGE, imported_modules, module_digest, stage_code

# a package laid out like snaketrain: stages, a subpackage, and ground-floor modules
MODULES = {
    "stages/stage_a": "from snaketrain.shared import helper\n",
    "stages/stage_b": "from snaketrain import shared as common\n",
    "stages/stage_c": "import json\n\n\ndef run():\n    from snaketrain import other\n",
    "stages/stage_d": "from snaketrain import other, shared\n",
    "stages/stage_e": "from snaketrain.sub import inner as i\n",
    "stages/stage_f": "from snaketrain.sub.inner import thing\n",
    "sub/inner": "from snaketrain.deep import value\n\nthing = value\n",
    "shared": "from snaketrain.deep import value\n\n\ndef helper():\n    return value\n",
    "deep": "value = 1\n",
    "other": "value = 2\n",
}


def dotted(name):
    return name.replace("/", ".")


def package(folder):
    for name, source in MODULES.items():
        path = folder / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return folder


def digests(folder):
    return {name: module_digest(dotted(name), str(folder)) for name in MODULES}


def test_every_import_form_is_followed(tmp_path):
    root = package(tmp_path / "pkg")
    assert imported_modules(MODULES["stages/stage_a"], root) == ["shared"]
    assert imported_modules(MODULES["stages/stage_b"], root) == ["shared"]
    assert imported_modules(MODULES["stages/stage_c"], root) == ["other"]  # an import inside a function counts too
    assert imported_modules(MODULES["stages/stage_e"], root) == ["sub.inner"]  # a module of a subpackage
    assert imported_modules(MODULES["stages/stage_f"], root) == ["sub.inner"]  # a name from a subpackage's module


@pytest.mark.parametrize(
    "edited, changed",
    [
        (
            "deep",
            {
                "deep",
                "shared",
                "sub/inner",
                "stages/stage_a",
                "stages/stage_b",
                "stages/stage_d",
                "stages/stage_e",
                "stages/stage_f",
            },
        ),
        ("shared", {"shared", "stages/stage_a", "stages/stage_b", "stages/stage_d"}),
        ("other", {"other", "stages/stage_c", "stages/stage_d"}),
        ("sub/inner", {"sub/inner", "stages/stage_e", "stages/stage_f"}),
        ("stages/stage_a", {"stages/stage_a"}),
    ],
)
def test_editing_a_module_changes_the_digest_of_its_importers_and_no_other(tmp_path, edited, changed):
    before = digests(package(tmp_path / "before"))
    after_folder = shutil.copytree(tmp_path / "before", tmp_path / "after")
    (after_folder / f"{edited}.py").write_text(MODULES[edited] + "# edited\n")
    after = digests(after_folder)
    assert {name for name in MODULES if before[name] != after[name]} == changed


def test_the_real_stages_follow_the_floors_they_import():
    summarize = (PACKAGE / "stages" / "summarize_run.py").read_text()
    assert "figures" in imported_modules(summarize)
    assert "registry.model_registry" in imported_modules(summarize)
    assert "orchestration.metrics_history" in imported_modules(summarize)
    assert len(stage_code("summarize_run")) == 16
    assert stage_code("summarize_run") == module_digest("stages.summarize_run", PACKAGE)


def test_every_rule_has_a_stage_module_with_a_digest_of_its_own():
    rules = {path.stem for path in (PACKAGE / "stages").glob("*.py") if path.stem != "__init__"}
    assert len(rules) >= 17
    assert len({stage_code(rule) for rule in rules}) == len(rules)


def test_every_name_of_an_import_list_is_followed(tmp_path):
    root = package(tmp_path / "pkg")
    assert imported_modules(MODULES["stages/stage_d"], root) == ["other", "shared"]
    assert imported_modules("from snaketrain import (\n    deep as d,\n    other,\n)\nimport json\n", root) == [
        "deep",
        "other",
    ]
