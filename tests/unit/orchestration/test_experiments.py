"""Experiments: overlays merged like --configfile, sweeps and their names, selection, shared keys, conflicts."""

import pytest

from snaketrain.orchestration import experiments
from snaketrain.stage_log import ConfigError


def test_merge_is_deep_for_mappings_and_replaces_lists():
    base = {"models": ["linear", "random_forest"], "tuning": {"cv": 5, "seed": 1}}
    merged = experiments.deep_merge(base, {"models": ["linear"], "tuning": {"cv": 4}})
    assert merged == {"models": ["linear"], "tuning": {"cv": 4, "seed": 1}}
    assert base["tuning"]["cv"] == 5  # the base is not changed


def test_sweep_expands_into_named_points_in_the_order_written():
    entries = {"scaling": {"sweep": {"tuning.method": ["grid", "halving"], "features.scale": [True, False]}}}
    made, origin = experiments.expand(entries, cap=10, where="x.yaml")
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
    made, _ = experiments.expand({"deep": {"models": ["linear"], "sweep": {"split.test_size": [0.1]}}}, 5, "x")
    assert made == {"deep-split_test_size-0_1": {"models": ["linear"], "split": {"test_size": 0.1}}}


def test_a_sweep_over_the_cap_is_refused_with_the_count():
    with pytest.raises(ConfigError, match="makes 6 experiments, more than experiments.max_sweep \\(5\\)"):
        experiments.expand({"big": {"sweep": {"a.b": [1, 2, 3], "c.d": [1, 2]}}}, cap=5, where="x")


@pytest.mark.parametrize("name", ["has space", "_shared", "a/b", "x" * 65])
def test_names_follow_the_registrys_rule(name):
    with pytest.raises(ConfigError, match="is not a valid name"):
        experiments.expand({name: {}}, 5, "x")


def test_an_overlay_may_not_choose_experiments():
    with pytest.raises(ConfigError, match="sets `only`"):
        experiments.expand({"a": {"only": "b"}}, 5, "x")


def test_selection_by_names_or_a_comma_separated_string():
    names = ["a", "b", "c"]
    assert experiments.selected(names, None) == names
    assert experiments.selected(names, "c, a") == ["a", "c"]
    assert experiments.selected(names, ["b"]) == ["b"]
    with pytest.raises(ConfigError, match="only names d, which is not an experiment"):
        experiments.selected(names, "a,d")


def test_the_default_file_absent_means_no_experiments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert experiments.overlays({"file": experiments.DEFAULT_FILE, "max_sweep": 5}) == ({}, {})
    with pytest.raises(ConfigError, match="other.yaml', which does not exist"):
        experiments.overlays({"file": "other.yaml", "max_sweep": 5})


def test_the_file_must_hold_a_top_level_mapping(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top-level mapping `experiments:`"):
        experiments.read_file(path)
    path.write_text("experiments:\n  a: {}\n  b: {models: [linear]}\n")
    assert experiments.read_file(path) == {"a": {}, "b": {"models": ["linear"]}}


def test_shared_keys_are_stable_and_follow_the_settings():
    key = experiments.shared_key("iris", {"b": 1, "a": [1, 2]})
    assert key == experiments.shared_key("iris", {"a": [1, 2], "b": 1})
    assert key.startswith("iris-") and len(key) == len("iris-") + experiments.KEY_DIGITS
    assert key != experiments.shared_key("iris", {"b": 2, "a": [1, 2]})


def _config(**data):
    source = {"source": "builtin", "builtin": "iris", "path": None, "url": None, "format": None}
    source.update(delimiter=",", encoding="utf-8", download_retries=1, sql_url_env=None, sql_query=None)
    features = {"drop": [], "dates": {}, "text": [], "encoding": {}, "max_categories": 20, "custom": None}
    return {
        "data": {"name": "iris", "target": "y", "task": "classification", **source, **data},
        "validation": {"dtypes": {}},
        "features": features,
        "split": {"seed": 1},
        "tuning": {"cv": 5},
        "models": ["linear", "random_forest"],
        "estimators": {},
    }


def test_shared_folders_share_what_is_equal_and_only_that():
    base = _config()
    deeper = experiments.deep_merge(base, {"estimators": {"random_forest": {"params": {"n_estimators": 5}}}})
    scaled = experiments.deep_merge(base, {"split": {"seed": 2}})
    a, b, c = (experiments.shared_folders(x) for x in (base, deeper, scaled))
    assert a["features"] == b["features"] and a["fit"]["linear"] == b["fit"]["linear"]
    assert a["fit"]["random_forest"] != b["fit"]["random_forest"]
    assert a["data"] == c["data"] and a["features"] != c["features"]
    assert a["fit"]["linear"] != c["fit"]["linear"]


def test_one_dataset_name_with_two_sources_is_a_conflict():
    configs = {"a": _config(), "b": _config(), "c": _config(builtin="wine")}
    assert experiments.first_conflict(configs, experiments.acquire_settings) == ("iris", "a", "c")
    del configs["c"]
    assert experiments.first_conflict(configs, experiments.acquire_settings) is None


def test_changed_settings_lists_only_what_differs():
    base = _config()
    other = experiments.deep_merge(base, {"tuning": {"cv": 4}, "models": ["linear"]})
    assert experiments.changed_settings(base, other) == {"models": ["linear"], "tuning.cv": 4}


def test_an_empty_base_mapping_the_experiment_fills_is_not_a_change_of_its_own():
    base = _config()
    other = experiments.deep_merge(base, {"estimators": {"random_forest": {"params": {"n_estimators": 5}}}})
    assert experiments.changed_settings(base, other) == {"estimators.random_forest.params.n_estimators": 5}


def _named(dataset, positive=None, model_name=None):
    return {"data": {"name": dataset, "positive_class": positive}, "registry": {"model_name": model_name}}


def test_experiments_of_one_registered_name_must_agree_on_the_positive_class():
    from snaketrain.orchestration.experiments import positive_class_conflict, positive_class_error

    agree = {"a": _named("loans"), "b": _named("loans"), "c": _named("loans", "bad", model_name="loans_bad")}
    assert positive_class_conflict(agree) is None  # other names may choose another class
    assert positive_class_conflict({"a": _named("loans", 1), "b": _named("loans", "1")}) is None  # same text
    clash = {"a": _named("loans"), "b": _named("loans", "bad")}
    assert positive_class_conflict(clash) == ("loans", [("a", None), ("b", "bad")])
    error = positive_class_error(clash, "config/experiments.yaml")
    assert "registered as 'loans'" in str(error) and "a: null (the rare class), b: 'bad'" in str(error)
    assert positive_class_error(agree, "x") is None


def test_a_positive_class_changes_the_fit_folders_only_when_set():
    from snaketrain.orchestration.experiments import fit_settings

    base = {"data": {"positive_class": None}, "estimators": {}, "tuning": {"cv": 5}}
    assert "positive_class" not in fit_settings("linear", base)
    chosen = {**base, "data": {"positive_class": "bad"}}
    assert fit_settings("linear", chosen)["positive_class"] == "bad"
