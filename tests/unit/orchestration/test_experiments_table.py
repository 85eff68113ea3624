"""The table of experiments, from the files experiments' jobs write: changed parameters, metrics, outcome, deltas,
missing values and a failed experiment's stage."""

import json
from pathlib import Path

import yaml

from snaketrain.orchestration import experiments_table as table
from snaketrain.orchestration.config_check import with_defaults
from snaketrain.orchestration.experiments import deep_merge

ROOT = Path(__file__).resolve().parents[3]


def config(**overlay):
    """The project's default config (schema defaults filled in) with data.name iris and overlay laid over it."""
    given = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    given = deep_merge(given, {"data": {"name": "iris"}, "models": ["linear", "random_forest"], "tuning": {"cv": 5}})
    return with_defaults(deep_merge(given, overlay), ROOT / "workflow" / "schemas" / "config.schema.yaml")


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def finished(results, name, f1s, passed=True, production=None, version="a" * 16, reasons=()):
    folder = results / name
    rows = "\n".join(f"{i},{m},{v}" for i, (m, v) in enumerate(f1s.items(), start=1))
    write(folder / "comparison" / "metrics.csv", "rank,model,f1\n" + rows + "\n")
    best = max(f1s, key=f1s.get)
    write(folder / "comparison" / "best.json", {"best_model": best, "metric": "f1", "metrics": {"f1": f1s[best]}})
    checks = []
    if production is not None:
        checks.append({"check": "vs production f1", "bound": production, "production_version": "p" * 16})
    decision = {"passed": passed, "model": best, "metric": "f1", "value": f1s[best], "checks": checks}
    decision["reasons"] = list(reasons)
    write(folder / "gate" / "decision.json", decision)
    if passed:
        write(folder / "registry" / "receipt.json", {"version": version})


def test_rows_hold_changed_parameters_metrics_outcome_and_delta(tmp_path):
    results, logs = tmp_path / "results", tmp_path / "logs"
    base = config()
    configs = {"a": config(), "b": config(tuning={"cv": 3}, models=["linear"])}
    finished(results, "a", {"linear": 0.9, "random_forest": 0.95}, production=0.93)
    finished(results, "b", {"linear": 0.97}, version="b" * 16)
    rows = table.rows_for(base, configs, results=results, logs=logs)
    assert [row["experiment"] for row in rows] == ["b", "a"]  # best first
    header, lines = table.table(rows)
    assert header[:6] == ["experiment", "finished", "data", "metric", "models", "tuning.cv"]
    by_name = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    assert by_name["a"]["models"] == "-" and by_name["a"]["tuning.cv"] == "-"  # a changes nothing
    assert by_name["b"]["models"] == '["linear"]' and by_name["b"]["tuning.cv"] == "3"
    assert by_name["a"]["model:random_forest"] == "0.95" and by_name["b"]["model:random_forest"] == "-"
    assert by_name["a"]["delta_to_production"] == "0.02"  # 0.95 against production's 0.93
    assert by_name["b"]["delta_to_production"] == "-"  # nothing in production to compare with
    assert by_name["b"]["version"] == "b" * 16 and by_name["a"]["gate"] == "passed"


def test_a_failed_experiment_shows_its_failing_stage_and_dashes(tmp_path):
    results, logs = tmp_path / "results", tmp_path / "logs"
    configs = {"ok": config(), "bad": config(tuning={"cv": 4})}
    finished(results, "ok", {"linear": 0.9, "random_forest": 0.8})
    error = "2026-12-06 08:00:00,000 ERROR [tune_model] the folds are too many\n  fix: fewer folds\n"
    # tune_model logs in the shared folder of bad's linear fit, as the workflow names it
    fit = table.experiments.shared_folders(configs["bad"])["fit"]["linear"]
    write(logs / "_shared" / f"fit-{fit}" / "tune_model" / "linear.log", error)
    rows = {row["experiment"]: row for row in table.rows_for(config(), configs, results=results, logs=logs)}
    assert rows["bad"]["status"] == "failed at tune_model (linear): the folds are too many"
    header, lines = table.table(list(rows.values()))
    bad = dict(zip(header, next(line for line in lines if line[0] == "bad"), strict=True))
    assert bad["gate"] == bad["version"] == bad["best_model"] == bad["finished"] == "-"


def test_all_params_shows_every_key_with_the_base_value(tmp_path):
    base = config()
    rows = table.rows_for(base, {"a": config(tuning={"cv": 3})}, results=tmp_path, logs=tmp_path)
    header, lines = table.table(rows, all_params=True, base=base)
    values = dict(zip(header, lines[0], strict=True))
    assert values["tuning.cv"] == "3" and values["data.name"] == "iris"


def test_markdown_and_csv_hold_the_same_cells():
    header, lines = ["experiment", "x"], [["a", "1|2"]]
    assert table.as_csv(header, lines) == "experiment,x\na,1|2\n"
    assert table.as_markdown(header, lines).splitlines()[2] == "| a | 1\\|2 |"


def test_settings_are_what_the_user_set_every_sweep_value_included(tmp_path):
    base = config()
    overlays = {"gpu_default": {"estimators": {"knn": {"params": {"n_neighbors": 3}}}}, "strat-true": {}}
    overlays["strat-true"] = {"split": {"stratify": True}}  # the base's value: still what the sweep point sets
    configs = {name: config(**overlay) for name, overlay in overlays.items()}
    rows = {
        r["experiment"]: r for r in table.rows_for(base, configs, results=tmp_path, logs=tmp_path, overlays=overlays)
    }
    assert rows["gpu_default"]["changed"] == {"estimators.knn.params.n_neighbors": 3}  # no resources.gpu = 0
    assert rows["strat-true"]["changed"] == {"split.stratify": True}
    header, lines = table.compact(list(rows.values()))
    settings = {line[0][0]: line[header.index(["settings"])] for line in lines}
    assert settings["strat-true"] == ["split.stratify=true"]


def test_a_failed_gate_says_why(tmp_path):
    reason = "f1 0.9 is worse than production p (0.95) by more than the tolerance 0.01"
    finished(tmp_path, "forest_only", {"random_forest": 0.9}, passed=False, reasons=[reason])
    rows = table.rows_for(config(), {"forest_only": config()}, results=tmp_path, logs=tmp_path)
    assert rows[0]["status"] == f"gate failed: {reason}"


def test_the_compact_table_names_its_metric_and_fits_the_width(tmp_path):
    long = {"estimators": {"random_forest": {"params": {"n_estimators": 30, "max_features": 0.5}}}}
    overlays = {f"sweep-split_stratify-{v}": {"split": {"stratify": v}, **long} for v in ("true", "false")}
    configs = {name: config() for name in overlays}
    for name in overlays:
        finished(tmp_path, name, {"linear": 0.9, "random_forest": 0.95}, version="c" * 16)
    rows = table.rows_for(config(), configs, results=tmp_path, logs=tmp_path, overlays=overlays)
    text = table.terminal_text(rows, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "test f1" in text and "0.95 *" in text  # the metric named, the best model marked
    assert "cccccccc" in text and "c" * 9 not in text  # the version, short
    html_page = table.as_html(*table.compact(rows), about="x")
    assert "<style>" in html_page and "max-width" in html_page and "max_features=0.5<br>" in html_page


def test_params_name_the_experiment_that_changed():
    base = config()
    before = table.params_of(base, {"a": {}, "b": {"tuning": {"cv": 3}}}, {})
    after = table.params_of(base, {"a": {}, "b": {"tuning": {"cv": 4}}}, {})
    assert set(after) - set(before) == {"b: tuning.cv=4"}
    assert max(len(line) for line in after) < 100
    assert table.params_of(config(tuning={"cv": 4}), {"a": {}}, {})[0] != table.params_of(base, {"a": {}}, {})[0]
