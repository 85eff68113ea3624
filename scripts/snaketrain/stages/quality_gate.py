"""The quality gate: does the best model meet every threshold, does it take the same input as the production
version of its registered model name, and is it no worse than that version?

Light by design: pandas and scikit-learn are imported only when a production model exists and has to
be scored on the current test split, so that the comparison is on the same data.
"""

from snaketrain.model_metrics import higher_is_better, is_better_or_equal
from snaketrain.registry import model_registry as registry
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
    if ok:
        relation = f"is no worse than production {version} ({champion}) beyond the tolerance {tolerance}"
    else:
        relation = f"is worse than production {version} ({champion}) by more than the tolerance {tolerance}"
    return {
        "check": f"vs production {metric}",
        "value": candidate,
        "bound": champion,
        "tolerance": tolerance,
        "production_version": version,
        "verdict": "pass" if ok else "fail",
        "reason": f"{metric} {candidate} {relation}",
    }


def schema_changes(candidate, production_meta):
    """What differs between the candidate's input (schema.json of build_features, with its task) and the
    production version's recorded input schema and task: {} when nothing does."""
    old, new = production_meta["input_schema"]["columns"], candidate["columns"]
    changes = {}
    added = [column for column in new if column not in old]
    removed = [column for column in old if column not in new]
    retyped = [
        f"{column} ({old[column]} -> {new[column]})"
        for column in new
        if column in old and old[column] != new[column] and not _recoded(old[column], new[column])
    ]
    if added:
        changes["columns_added"] = added
    if removed:
        changes["columns_removed"] = removed
    if retyped:
        changes["columns_retyped"] = retyped
    if production_meta["input_schema"]["target"] != candidate["target"]:
        changes["target"] = {"production": production_meta["input_schema"]["target"], "candidate": candidate["target"]}
    if production_meta["task"] != candidate["task"]:
        changes["task"] = {"production": production_meta["task"], "candidate": candidate["task"]}
    return changes


def _recoded(old_kind, new_kind):
    """A numeric column now read as categorical (an integer code now seen as a code) still takes every value its
    clients send (numbers become codes): a feature change, not an input change."""
    return old_kind == "numeric" and new_kind == "categorical"


def feature_changes(candidate, production_meta):
    """Columns whose kind changed without changing what clients may send: {"columns_recoded": [...]} or {}."""
    old, new = production_meta["input_schema"]["columns"], candidate["columns"]
    recoded = [f"{column} ({old[column]} -> {new[column]})" for column in new if _recoded(old.get(column), new[column])]
    return {"columns_recoded": recoded} if recoded else {}


def describe_changes(changes):
    parts = []
    if "columns_added" in changes:
        parts.append("columns added: " + ", ".join(changes["columns_added"]))
    if "columns_removed" in changes:
        parts.append("columns removed: " + ", ".join(changes["columns_removed"]))
    if "columns_retyped" in changes:
        parts.append("columns of another kind: " + ", ".join(changes["columns_retyped"]))
    for key in ("target", "task"):
        if key in changes:
            parts.append(f"{key} {changes[key]['production']} -> {changes[key]['candidate']}")
    return "; ".join(parts)


def _input_summary(schema, task):
    return f"{len(schema['columns'])} columns, target {schema['target']}, {task}"


def schema_check(candidate, production_meta, version, name, allow):
    """The explicit check that the candidate takes the input the production version of its name takes."""
    changes = schema_changes(candidate, production_meta)
    recoded = feature_changes(candidate, production_meta)
    check = {
        "check": "input schema vs production",
        "value": _input_summary(candidate, candidate["task"]),
        "bound": _input_summary(production_meta["input_schema"], production_meta["task"]),
        "production_version": version,
        "changes": changes,
    }
    if recoded:
        check["feature_changes"] = recoded
    if not changes:
        same = f"same input columns, target and task as production {version} of {name}"
        if recoded:
            same += (
                "; a feature change, not an input change: columns read as codes now (their clients' values are "
                "still taken): " + ", ".join(recoded["columns_recoded"])
            )
        return {**check, "verdict": "pass", "reason": same}
    what = f"input differs from production {version} of {name}: {describe_changes(changes)}"
    if allow:
        return {**check, "verdict": "pass", "reason": f"{what} (allowed by gate.allow_schema_change)"}
    return {
        **check,
        "verdict": "fail",
        "reason": f"{what}; promoting it would break every client of the production model "
        "(set gate.allow_schema_change: true to promote it anyway, or use another registry.model_name)",
    }


def not_compared(metric, version, why):
    return {
        "check": f"vs production {metric}",
        "value": None,
        "bound": None,
        "production_version": version,
        "verdict": "skipped",
        "reason": f"not compared with production {version}: {why}",
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


def score_production(registry_root, version, name, test_path, metric):
    """The production version's metric on the current test split (same input schema: checked before)."""
    from snaketrain.model_metrics import prediction_metrics
    from snaketrain.registry import inference
    from snaketrain.table_io import read_table

    loaded = inference.load_version(registry_root, version, name, STAGE)
    test = read_table(test_path)
    prediction = inference.predict(loaded, test, STAGE, where=str(test_path))
    return prediction_metrics(test[loaded.input_schema["target"]], prediction, loaded.task).get(metric)


def production_checks(params, candidate, best, test_path, logger):
    """The checks against the production version of the same name (input schema, then the metric), and that
    version (None when nothing is in production): deploy_model promotes only while production is still it."""
    migrated = registry.migrate(params.registry, params.name)
    if migrated:
        logger.warning("%s", migrated)
    current = registry.production(params.registry, params.name)
    if not current:
        logger.info("no version of %s is in production yet: nothing to compare with", params.name)
        return [], None
    version = current["version"]
    return _checks_against(params, candidate, best, test_path, version), version


def _checks_against(params, candidate, best, test_path, version):
    meta = registry.metadata(params.registry, version, params.name)
    checks = [schema_check(candidate, meta, version, params.name, params.gate["allow_schema_change"])]
    metric = best["metric"]
    if checks[0]["changes"]:
        return [*checks, not_compared(metric, version, "its input differs (see the schema check)")]
    if inference_file_missing(params.registry, version, params.name):
        return [*checks, not_compared(metric, version, "it was registered before models were stored safely")]
    champion = score_production(params.registry, version, params.name, test_path, metric)
    if champion is None:
        return [*checks, not_compared(metric, version, f"{metric} is not measured for its task")]
    value = best["metrics"][metric]
    return [*checks, production_check(metric, value, champion, params.gate["tolerance"], version)]


def inference_file_missing(root, version, name):
    return registry.PIPELINE_FILE not in registry.metadata(root, version, name)["files"]


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        best = read_json(input.best)
        logger.info("best model %s: %s = %s", best["best_model"], best["metric"], best["metrics"][best["metric"]])
        checks = threshold_checks(best["metrics"], params.gate["thresholds"])
        candidate = read_json(input.schema)
        against, compared_with = production_checks(params, candidate, best, input.test, logger)
        checks += against
        # compared_with is what deploy_model's compare-and-swap expects production to still be
        decision = {**decide(best, checks), "name": params.name, "compared_with": compared_with}
        for check in checks:
            logger.info("%s: %s", check["verdict"].upper(), check["reason"])
        logger.info("gate %s for %s", "PASSED" if decision["passed"] else "FAILED", decision["model"])
        write_json(decision, output.decision)
