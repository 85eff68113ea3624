"""The monolithic baseline: every stage of the pipeline, one after another, in one Python process.

It calls the same stage functions as the workflow's jobs (the snaketrain package in scripts/), with the same config (config/config.yaml
with the overlays given), the same models, parameters and seeds. Tables stay in memory between stages, as a plain
script would keep them; the artifacts a user keeps (tuning results, models, metrics, plots, the comparison, the gate
decision, the registry version and production pointer) are written under the output folder, as the workflow writes
them. threads defaults to 1, the stage functions' default: a plain script runs one thing at a time.

    python bench/baseline.py --configfile bench/config.yaml --out /tmp/baseline [--threads 1]

Run it from a project folder (relative data and registry paths in the config resolve against the current folder).
"""

import argparse
import time
from pathlib import Path

import yaml

from snaketrain.model_metrics import selection_metric
from snaketrain.registry import model_registry as registry
from snaketrain.registry.inference import make_pipeline, save_pipeline
from snaketrain.stages.acquire_data import acquire
from snaketrain.stages.build_features import fit_transform
from snaketrain.stages.compare_models import rank, table_csv
from snaketrain.stages.evaluate_model import diagnostics_figure, evaluate, importance_figure, importances, save_png
from snaketrain.stages.quality_gate import decide, production_check, schema_check, score_production, threshold_checks
from snaketrain.stages.register_model import build_metadata
from snaketrain.stages.split_data import split
from snaketrain.stages.train_model import threshold_settings, train
from snaketrain.stages.tune_model import tune
from snaketrain.stages.validate_data import validate
from snaketrain.table_io import read_joblib, sha256_file, write_bytes, write_csv, write_joblib, write_json

ROOT = Path(__file__).resolve().parents[1]


def merged(base, overlay):
    """Overlay config on base the way Snakemake merges --configfile: dicts recursively, other values replaced."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def load_config(overlays):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for path in overlays:
        config = merged(config, yaml.safe_load(Path(path).read_text()) or {})
    return config


def run_pipeline(config, out, threads=1):
    """Every stage in order; returns {stage: seconds} (the sum is the pipeline's time after imports)."""
    out = Path(out)
    timings = {}
    clock = time.perf_counter()

    def lap(stage, model=None):
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(timings.get(stage, 0.0) + now - clock, 4)
        if model:
            timings[f"{stage}/{model}"] = round(now - clock, 4)
        clock = now

    data = config["data"]
    frame = acquire(data)
    frame.columns = [str(c) for c in frame.columns]
    lap("acquire_data")

    report = validate(frame, data["target"], data["task"], config["validation"], where=str(data["path"]))
    # the workflow hashes its acquired copy; here the source file is the data as read
    report["dataset_sha256"] = sha256_file(data["path"]) if data["source"] == "file" else None
    write_json(report, out / "validation" / "report.json")
    task, target = report["task"], report["target"]
    lap("validate_data")

    train_set, test_set = split(frame, target, task, **config["split"])
    del frame
    lap("split_data")

    preprocessor, train_x, test_x, schema = fit_transform(train_set, test_set, target, config["features"])
    schema["task"] = task
    write_joblib(preprocessor, out / "features" / "preprocessor.joblib")
    write_json(schema, out / "features" / "schema.json")
    del train_set
    X, y = train_x.drop(columns=[target]), train_x[target]
    X_test, y_test = test_x.drop(columns=[target]), test_x[target]
    lap("build_features")

    evaluations, tuned_params = [], {}
    for name in config["models"]:
        spec = config["estimators"][name]
        positive = config["data"]["positive_class"]
        best, score, scoring, table = tune(name, spec, config["tuning"], task, X, y, threads, None, positive)
        tuned_params[name] = {
            "model": name,
            "best_params": best,
            "cv_score": score,
            "scoring": scoring,
            "candidates": len(table),
        }
        write_csv(table, out / "tuning" / name / "cv_results.csv")
        write_json(tuned_params[name], out / "tuning" / name / "best_params.json")
        lap("tune_model", name)

        threshold = threshold_settings(task, y, positive, config["tuning"]["cv"], config["tuning"].get("holdout_above"))
        model = train(name, spec, best, task, config["tuning"]["seed"], X, y, threads, None, threshold)
        write_joblib(model, out / "models" / f"{name}.joblib")
        lap("train_model", name)

        metrics = evaluate(model, X_test, y_test, task)
        rows, scoring = importances(model, X_test, y_test, task, config["tuning"]["seed"])
        evaluation = {"model": name, "task": task, "test_rows": len(X_test), "metrics": metrics}
        features = [{"feature": n, "mean": m, "std": sd} for n, m, sd in rows]
        write_json(
            {**evaluation, "importances": {"scoring": scoring, "features": features}},
            out / "evaluation" / name / "metrics.json",
        )
        save_png(
            diagnostics_figure(model, X_test, y_test, task, f"{name} (test split)"),
            out / "evaluation" / name / "plot.png",
        )
        save_png(
            importance_figure(rows, scoring, f"{name}: permutation feature importance (test split)"),
            out / "evaluation" / name / "importance.png",
        )
        evaluations.append(evaluation)
        del model
        lap("evaluate_model", name)

    metric = selection_metric(config["selection"]["metric"], task)
    ranked = rank(evaluations, metric)
    best = {
        "best_model": ranked[0]["model"],
        "metric": metric,
        "task": task,
        "metrics": ranked[0]["metrics"],
    }
    write_bytes(table_csv(ranked).encode("utf-8"), out / "comparison" / "metrics.csv")
    write_json(best, out / "comparison" / "best.json")
    lap("compare_models")

    registry_root = config["registry"]["path"]
    model_name = config["registry"].get("model_name") or config["data"]["name"]
    checks = threshold_checks(best["metrics"], config["gate"]["thresholds"])
    current = registry.production(registry_root, model_name)
    if current:
        production_meta = registry.metadata(registry_root, current["version"], model_name)
        allow = config["gate"].get("allow_schema_change", False)
        checks.append(schema_check({**schema, "task": task}, production_meta, current["version"], model_name, allow))
        if not checks[-1]["changes"] and "pipeline.skops" in production_meta["files"]:
            # the workflow's gate reads the test split from its file; the baseline keeps it in memory
            split_file = out / "gate" / "test.parquet"
            from snaketrain.table_io import write_table

            write_table(test_set, split_file)
            champion = score_production(registry_root, current["version"], model_name, split_file, metric)
            if champion is not None:
                checks.append(
                    production_check(
                        metric, best["metrics"][metric], champion, config["gate"]["tolerance"], current["version"]
                    )
                )
    decision = decide(best, checks)
    write_json(decision, out / "gate" / "decision.json")
    lap("quality_gate")

    if decision["passed"]:
        name = decision["model"]
        sections = ("data", "validation", "split", "features", "tuning", "selection", "gate")
        meta = build_metadata(
            decision,
            next(e for e in evaluations if e["model"] == name),
            tuned_params[name],
            schema,
            report,
            {section: config[section] for section in sections},
            config["estimators"][name],
        )
        files = {
            "model.joblib": out / "models" / f"{name}.joblib",
            "preprocessor.joblib": out / "features" / "preprocessor.joblib",
            "pipeline.skops": out / "registry" / "pipeline.skops",
        }
        save_pipeline(
            make_pipeline(read_joblib(files["preprocessor.joblib"]), read_joblib(files["model.joblib"])),
            files["pipeline.skops"],
        )
        version, _ = registry.publish(registry_root, files, meta, model_name)
        lap("register_model")
        registry.promote(registry_root, version, model_name)
        lap("deploy_model")
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[], help="config overlays on config/config.yaml")
    parser.add_argument("--out", default="results-baseline", help="folder for the artifacts")
    parser.add_argument("--threads", type=int, default=1, help="threads for tuning and training (default 1)")
    args = parser.parse_args(argv)
    timings = run_pipeline(load_config(args.configfile), args.out, args.threads)
    write_json(timings, Path(args.out) / "timings.json")


if __name__ == "__main__":
    main()
