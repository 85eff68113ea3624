"""Experiments: overlays merged like --configfile, sweeps and their names, selection, shared keys, conflicts."""

import pytest

from snaketrain.orchestration import experiments, experiments_file, experiments_table
from snaketrain.stage_log import ConfigError


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
    deeper = experiments_file.deep_merge(base, {"estimators": {"random_forest": {"params": {"n_estimators": 5}}}})
    scaled = experiments_file.deep_merge(base, {"split": {"seed": 2}})
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
    other = experiments_file.deep_merge(base, {"tuning": {"cv": 4}, "models": ["linear"]})
    assert experiments_table.changed_settings(base, other) == {"models": ["linear"], "tuning.cv": 4}


def test_an_empty_base_mapping_the_experiment_fills_is_not_a_change_of_its_own():
    base = _config()
    other = experiments_file.deep_merge(base, {"estimators": {"random_forest": {"params": {"n_estimators": 5}}}})
    assert experiments_table.changed_settings(base, other) == {"estimators.random_forest.params.n_estimators": 5}


# ---- the Experiments class: what the rules ask


def _base(**overrides):
    cfg = _config(**overrides)
    cfg.update(registry={"path": "registry", "model_name": None}, only=None)
    return cfg


def _run(overlays, only=None):
    """An Experiments of the base config with these overlays laid over it (no schema: the class's own logic)."""
    base = _base()
    configs = {name: experiments_file.deep_merge(base, overlay) for name, overlay in overlays.items()}
    return experiments.Experiments(base, configs, only=only)


def test_without_experiments_every_answer_is_the_one_configs():
    base = _base()
    none = experiments.Experiments(base)
    assert not none
    assert none.owner({"model": "linear"}) is None
    assert none.config_of({}) is base
    assert none.fill("results/features/schema.json", {}) == "results/features/schema.json"
    assert none.per_model("results/models/{model}.joblib", {}) == [
        "results/models/linear.joblib",
        "results/models/random_forest.joblib",
    ]
    assert none.layout.output("quality_gate", "decision") == "results/gate/decision.json"
    assert none.layout.output("acquire_data", "data") == "resources/data/iris.parquet"
    assert none.gate_branch({}, passed=True) == "results/deploy/receipt.json"
    assert none.gate_branch({}, passed=False) == "results/alerts/alert.json"
    assert none.targets(False, lambda _: {"passed": True}) == [
        "results/comparison/metrics.csv",
        "results/report/gate.html",
        "results/deploy/receipt.json",
    ]


def test_a_shared_folder_is_owned_by_the_first_experiment_that_reads_it():
    run = _run(
        {"a": {}, "b": {"estimators": {"random_forest": {"params": {"n_estimators": 5}}}}, "c": {"split": {"seed": 2}}}
    )
    keys = run.keys
    assert keys["a"]["features"] == keys["b"]["features"] != keys["c"]["features"]
    assert run.owner({"features": keys["b"]["features"]}) == "a"
    assert run.owner({"features": keys["c"]["features"]}) == "c"
    assert run.owner({"fit": keys["b"]["fit"]["random_forest"]}) == "b"
    assert run.owner({"fit": keys["b"]["fit"]["linear"]}) == "a"  # linear's fit is the same in a and b
    assert run.owner({"experiment": "c", "model": "linear"}) == "c"
    assert run.config_of({"experiment": "c"})["split"]["seed"] == 2
    assert run.setting({"experiment": "c"}, "split", "seed") == 2


def test_fill_places_a_jobs_shared_inputs_in_its_experiments_folders():
    run = _run({"a": {}, "c": {"split": {"seed": 2}}})
    keys = run.keys["c"]
    schema = run.layout.output("build_features", "schema")
    assert schema == "results/_shared/features-{features}/features/schema.json"
    assert run.fill(schema, {"experiment": "c"}) == f"results/_shared/features-{keys['features']}/features/schema.json"
    model = run.layout.output("train_model", "model")
    assert run.fill(model, {"experiment": "c"}, model="linear") == (
        f"results/_shared/fit-{keys['fit']['linear']}/models/linear.joblib"
    )
    assert run.per_model(run.layout.output("evaluate_model", "metrics"), {"experiment": "a"}) == [
        f"results/_shared/fit-{run.keys['a']['fit'][m]}/evaluation/{m}/metrics.json"
        for m in ("linear", "random_forest")
    ]
    # the acquired data stays outside results/, per data.name
    assert run.fill(run.layout.output("acquire_data", "data"), {"experiment": "a"}) == "resources/data/iris.parquet"


def test_wildcard_constraints_allow_exactly_the_configured_values():
    run = _run({"a": {}, "b": {"models": ["linear"]}})
    constraints = run.wildcard_constraints()
    assert constraints["experiment"] == "a|b"
    assert constraints["model"] == "linear|random_forest"
    assert constraints["name"] == "iris"
    assert experiments.Experiments(_base()).wildcard_constraints()["experiment"] == "(?!)"


def test_deploys_compare_the_selected_experiments_of_their_name():
    run = _run({"a": {}, "b": {"registry": {"model_name": "other"}}, "c": {}}, only="a,b")
    assert run.names() == ["iris", "other"]
    assert run.registering_under("iris") == ["a"]  # c is not selected
    decisions = {"a": {"passed": True, "path": "results/a/gate/decision.json"}}
    assert run.deploy_inputs("iris", decisions.get) == {
        "decision": ["results/a/gate/decision.json"],
        "receipt": ["results/a/registry/receipt.json"],
    }
    assert run.deploy_receipts() == [
        "results/_deploy/iris/deploy/receipt.json",
        "results/_deploy/other/deploy/receipt.json",
    ]
    targets = run.targets(False, decisions.get)
    assert "results/a/report/gate.html" in targets and "results/c/report/gate.html" not in targets
    assert targets[-3:] == ["results/experiments.csv", "results/experiments.md", "results/report/experiments.html"]


def test_two_registries_or_two_sources_for_one_dataset_are_refused_before_any_job():
    with pytest.raises(ConfigError, match="use 2 registries"):
        _run({"a": {}, "b": {"registry": {"path": "elsewhere"}}})
    with pytest.raises(ConfigError, match="give data.name iris different sources"):
        _run({"a": {}, "b": {"data": {"builtin": "wine"}}})


def test_the_drift_checks_files_are_those_of_an_experiment_sharing_the_base_data():
    run = _run({"other": {"data": {"name": "wine", "builtin": "wine"}}, "same": {}})
    assert run.base_experiment() == "same"
    assert run.base_file(run.layout.output("validate_data", "report")) == (
        f"results/_shared/data-{run.keys['same']['data']}/validation/report.json"
    )


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
