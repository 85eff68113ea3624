"""The quality gate: does the best model meet every threshold, and is it no worse than production?

Light by design: pandas and scikit-learn are imported only when a production model exists and has to
be scored on the current test split, so that the comparison is on the same data.
"""

from snaketrain import model_registry as registry
from snaketrain.model_metrics import higher_is_better, is_better_or_equal
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, write_json

STAGE = "quality_gate"


def threshold_checks(metrics, thresholds):
    checks = []
    for metric, bound in sorted(thresholds.items()):
        kind = "min" if higher_is_better(metric) else "max"
        if metric not in metrics:
            checks.append(
                {
                    "check": f"{kind} {metric}",
                    "value": None,
                    "bound": bound,
                    "verdict": "skipped",
                    "reason": f"{metric} is not measured for this task",
                }
            )
            continue
        value = metrics[metric]
        ok = is_better_or_equal(value, bound, metric)
        verb = ">=" if kind == "min" else "<="
        checks.append(
            {
                "check": f"{kind} {metric}",
                "value": value,
                "bound": bound,
                "verdict": "pass" if ok else "fail",
                "reason": f"{metric} {value} {'meets' if ok else 'misses'} {verb} {bound}",
            }
        )
    return checks


def production_check(metric, candidate, champion, tolerance, version):
    ok = is_better_or_equal(candidate, champion, metric, tolerance)
    relation = "no worse than" if ok else "worse than"
    return {
        "check": f"vs production {metric}",
        "value": candidate,
        "bound": champion,
        "tolerance": tolerance,
        "production_version": version,
        "verdict": "pass" if ok else "fail",
        "reason": f"{metric} {candidate} is {relation} production {version} ({champion}) within tolerance {tolerance}",
    }


def decide(best, checks):
    failed = [c for c in checks if c["verdict"] == "fail"]
    return {
        "passed": not failed,
        "model": best["best_model"],
        "metric": best["metric"],
        "value": best["metrics"][best["metric"]],
        "checks": checks,
        "reasons": [c["reason"] for c in failed],
    }


def score_production(registry_root, version, test_path, task, metric):
    """The production model's metric on the current test split, or None if it cannot read this data."""
    from snaketrain import inference
    from snaketrain.model_metrics import prediction_metrics
    from snaketrain.table_io import read_table

    schema = registry.metadata(registry_root, version)["input_schema"]
    test = read_table(test_path)
    if schema["target"] not in test.columns or not set(schema["columns"]) <= set(test.columns):
        return None
    if registry.metadata(registry_root, version)["task"] != task:
        return None
    loaded = inference.load_version(registry_root, version)
    prediction = inference.predict(loaded, test, STAGE, where=str(test_path))
    return prediction_metrics(test[schema["target"]], prediction, task).get(metric)


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        best = read_json(input.best)
        logger.info("best model %s: %s = %s", best["best_model"], best["metric"], best["metrics"][best["metric"]])
        checks = threshold_checks(best["metrics"], params.gate["thresholds"])
        current = registry.production(params.registry)
        if current:
            champion = score_production(params.registry, current["version"], input.test, best["task"], best["metric"])
            if champion is None:
                logger.warning(
                    "production %s was trained on other columns or another task: not compared", current["version"]
                )
            else:
                checks.append(
                    production_check(
                        best["metric"],
                        best["metrics"][best["metric"]],
                        champion,
                        params.gate["tolerance"],
                        current["version"],
                    )
                )
        decision = decide(best, checks)
        for check in checks:
            logger.info("%s: %s", check["verdict"].upper(), check["reason"])
        logger.info("gate %s for %s", "PASSED" if decision["passed"] else "FAILED", decision["model"])
        write_json(decision, output.decision)
