"""Each rule's code digest follows the snaketrain modules its stage imports, and only those."""

import shutil

import pytest

from snaketrain.code_digest import PACKAGE, imported_modules, module_digest

MODULES = {
    "stage_a": "from snaketrain.shared import helper\n",
    "stage_b": "from snaketrain import shared as common\n",
    "stage_c": "import json\n\n\ndef run():\n    from snaketrain import other\n",
    "stage_d": "from snaketrain import other, shared\n",
    "shared": "from snaketrain.deep import value\n\n\ndef helper():\n    return value\n",
    "deep": "value = 1\n",
    "other": "value = 2\n",
}


def package(folder):
    folder.mkdir()
    for name, source in MODULES.items():
        (folder / f"{name}.py").write_text(source)
    return folder


def digests(folder):
    return {name: module_digest(name, str(folder)) for name in MODULES}


def test_both_import_forms_are_followed():
    assert imported_modules(MODULES["stage_a"]) == ["shared"]
    assert imported_modules(MODULES["stage_b"]) == ["shared"]
    assert imported_modules(MODULES["stage_c"]) == ["other"]  # an import inside a function counts too


@pytest.mark.parametrize(
    "edited, changed",
    [
        ("deep", {"deep", "shared", "stage_a", "stage_b", "stage_d"}),
        ("shared", {"shared", "stage_a", "stage_b", "stage_d"}),
        ("other", {"other", "stage_c", "stage_d"}),
        ("stage_a", {"stage_a"}),
    ],
)
def test_editing_a_module_changes_the_digest_of_its_importers_and_no_other(tmp_path, edited, changed):
    before = digests(package(tmp_path / "before"))
    after_folder = shutil.copytree(tmp_path / "before", tmp_path / "after")
    (after_folder / f"{edited}.py").write_text(MODULES[edited] + "# edited\n")
    after = digests(after_folder)
    assert {name for name in MODULES if before[name] != after[name]} == changed


def test_the_real_stages_follow_the_ground_floor_they_import():
    assert "figures" in imported_modules((PACKAGE / "summarize_run.py").read_text())
    assert len(module_digest("summarize_run")) == 16
    assert module_digest("summarize_run") == module_digest("summarize_run", PACKAGE)


def test_every_name_of_an_import_list_is_followed():
    assert imported_modules(MODULES["stage_d"]) == ["other", "shared"]
    assert imported_modules("from snaketrain import (\n    deep as d,\n    other,\n)\nimport json\n") == [
        "deep",
        "other",
    ]
