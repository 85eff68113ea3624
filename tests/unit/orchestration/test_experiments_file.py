"""The experiments file: overlays merged like --configfile, sweeps and their names, the file's form."""

import pytest

from snaketrain.orchestration import experiments, experiments_file
from snaketrain.stage_log import ConfigError


def test_merge_is_deep_for_mappings_and_replaces_lists():
    base = {"models": ["linear", "random_forest"], "tuning": {"cv": 5, "seed": 1}}
    merged = experiments_file.deep_merge(base, {"models": ["linear"], "tuning": {"cv": 4}})
    assert merged == {"models": ["linear"], "tuning": {"cv": 4, "seed": 1}}
    assert base["tuning"]["cv"] == 5  # the base is not changed


def test_sweep_expands_into_named_points_in_the_order_written():
    entries = {"scaling": {"sweep": {"tuning.method": ["grid", "halving"], "features.scale": [True, False]}}}
    made, origin = experiments_file.expand(entries, cap=10, where="x.yaml")
    assert list(made) == [
        "scaling-tuning_method-grid-features_scale-true",
        "scaling-tuning_method-grid-features_scale-false",
        "scaling-tuning_method-halving-features_scale-true",
        "scaling-tuning_method-halving-features_scale-false",
    ]
    assert made["scaling-tuning_method-halving-features_scale-false"] == {
        "tuning": {"method": "halving"},
        "features": {"scale": False},
    }
    assert set(origin.values()) == {"scaling"}


def test_sweep_keeps_the_entrys_other_keys_and_names_values_plainly():
    made, _ = experiments_file.expand({"deep": {"models": ["linear"], "sweep": {"split.test_size": [0.1]}}}, 5, "x")
    assert made == {"deep-split_test_size-0_1": {"models": ["linear"], "split": {"test_size": 0.1}}}


def test_a_sweep_over_the_cap_is_refused_with_the_count():
    with pytest.raises(ConfigError, match="makes 6 experiments, more than experiments.max_sweep \\(5\\)"):
        experiments_file.expand({"big": {"sweep": {"a.b": [1, 2, 3], "c.d": [1, 2]}}}, cap=5, where="x")


@pytest.mark.parametrize("name", ["has space", "_shared", "a/b", "x" * 65])
def test_names_follow_the_registrys_rule(name):
    with pytest.raises(ConfigError, match="is not a valid name"):
        experiments_file.expand({name: {}}, 5, "x")


def test_an_overlay_may_not_choose_experiments():
    with pytest.raises(ConfigError, match="sets `only`"):
        experiments_file.expand({"a": {"only": "b"}}, 5, "x")


def test_selection_by_names_or_a_comma_separated_string():
    names = ["a", "b", "c"]
    assert experiments.selected(names, None) == names
    assert experiments.selected(names, "c, a") == ["a", "c"]
    assert experiments.selected(names, ["b"]) == ["b"]
    with pytest.raises(ConfigError, match="only names d, which is not an experiment"):
        experiments.selected(names, "a,d")


def test_the_default_file_absent_means_no_experiments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert experiments_file.overlays({"file": experiments_file.DEFAULT_FILE, "max_sweep": 5}) == ({}, {})
    with pytest.raises(ConfigError, match="other.yaml', which does not exist"):
        experiments_file.overlays({"file": "other.yaml", "max_sweep": 5})


def test_the_file_must_hold_a_top_level_mapping(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top-level mapping `experiments:`"):
        experiments_file.read_file(path)
    path.write_text("experiments:\n  a: {}\n  b: {models: [linear]}\n")
    assert experiments_file.read_file(path) == {"a": {}, "b": {"models": ["linear"]}}
