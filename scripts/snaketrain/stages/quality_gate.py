"""The quality gate: does the best model beat the naive rule for its task by a margin chance does not give (a
paired bootstrap of the selection metric over the test rows, snaketrain.naive_rule; docs/gate.md), meet every
configured threshold (none by default), take the same input as the production version of its registered model
name, and is it no worse than that version?

Light by design: numpy and pyarrow for the naive rule; scikit-learn only when a production model exists and has
to be scored on the current test split, so that the comparison is on the same data.
"""

from snaketrain import naive_rule
from snaketrain.model_metrics import higher_is_better, is_better_or_equal
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_json

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


def naive_check(best, answers, y_train, gate):
    """The candidate against the naive rule on its own test rows (docs/gate.md), with `gate.resamples` paired
    bootstrap resamples drawn with `gate.seed` and a one-sided `gate.confidence` lower bound:

    - a classifier with class probabilities passes when its probabilities beat the class prior by more than chance
      (the lower bound of the gain in Brier score is above 0) and its selection metric is no lower than the naive
      rule's: the Brier score, a proper scoring rule computed per row, tells skill from luck on a few dozen rows
      where F1 cannot, and the selection metric keeps labels that are worse than the rule's out;
    - any other model (regression, SVC, ridge classifiers) passes when the lower bound of its gain over the naive
      rule in the selection metric is above 0.

    answers: the candidate's evaluate_model answers (y, prediction, score_<i>)."""
    import numpy as np

    metric, task = best["metric"], best["task"]
    positive = best.get("positive_class") if task == "binary" else None
    rule = naive_rule.naive_rule(task, metric, y_train, positive)
    y = answers["y"].to_numpy()
    score_columns = sorted((c for c in answers.columns if c.startswith("score_")), key=lambda c: int(c[6:]))
    scores = answers[score_columns].to_numpy() if score_columns else None
    candidate = {"pred": answers["prediction"].to_numpy(), "scores": scores}
    naive = {"pred": naive_rule.naive_predictions(rule, len(y)), "scores": None}
    classes = best.get("classes")
    check = {"check": f"vs naive rule {metric}", "naive_rule": rule["rule"]}
    if metric == "roc_auc" and scores is None:
        reason = (
            f"{metric} needs the model's scores, and {best['best_model']} gives none: it cannot be judged against the "
            "naive rule (choose another selection.metric)"
        )
        return {**check, "value": None, "bound": None, "verdict": "fail", "reason": reason}
    settings = (gate["resamples"], gate["seed"], gate["confidence"])
    of_class = positive if metric in naive_rule.POSITIVE_METRICS else None
    on_metric = naive_rule.paired_bootstrap(metric, y, candidate, naive, *settings, positive=of_class, classes=classes)
    level = f"{on_metric['confidence']:.0%}"
    of = f" of class {positive!r}" if of_class is not None else ""
    said = f"{metric}{of} = {on_metric['candidate']}"
    against = f"the naive rule ({rule['rule']}: {on_metric['naive']})"
    how = f" (paired bootstrap of the test rows, {on_metric['resamples']} resamples, seed {on_metric['seed']})"
    check.update(value=on_metric["candidate"], bound=on_metric["naive"], difference=on_metric["difference"])
    check.update(confidence=on_metric["confidence"], resamples=on_metric["resamples"], seed=on_metric["seed"])
    if task != "regression" and best.get("scores") == "probabilities" and scores is not None:
        prior = np.tile(naive_rule.class_prior(y_train, classes), (len(y), 1))
        skill = naive_rule.paired_bootstrap(
            "brier", y, {"scores": scores}, {"scores": prior}, *settings, classes=classes
        )
        check.update(test="brier", brier=skill["candidate"], brier_naive=skill["naive"], lower_bound=skill["lower"])
        brier = (
            f"Brier score {skill['candidate']} against the class prior's {skill['naive']}, the gain's {level} lower "
            f"bound {skill['lower']}"
        )
        if on_metric["difference"] < 0:
            ok, reason = False, f"{said} does not beat {against}: it is lower"
        elif not skill["lower"] > 0:
            ok = False
            reason = (
                f"{said} does not beat {against} by more than chance: the model's class probabilities are no better "
                f"than the class prior ({brier}, not above 0): it has learnt nothing the naive rule does not know, or "
                "the test split is too small to tell"
            )
        else:
            ok, reason = True, f"{said} beats {against}, and its class probabilities beat the class prior ({brier})"
    else:
        check.update(test=metric, lower_bound=on_metric["lower"])
        ok = bool(np.isfinite(on_metric["lower"]) and on_metric["lower"] > 0)
        gain = f"the difference {on_metric['difference']} has a {level} lower bound of {on_metric['lower']}"
        if ok:
            reason = f"{said} beats {against}: {gain}"
        else:
            reason = (
                f"{said} does not beat {against} by more than chance: {gain}, not above 0 (the model has learnt "
                "nothing the naive rule does not know, or the test split is too small to tell)"
            )
    return {**check, "verdict": "pass" if ok else "fail", "reason": reason + how}


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


def schema_changes(candidate, production_meta):
    """What differs between the candidate's input (schema.json of build_features, with its task) and the
    production version's recorded input schema and task: {} when nothing does."""
    old, new = production_meta["input_schema"]["columns"], candidate["columns"]
    changes = {}
    added = [column for column in new if column not in old]
    removed = [column for column in old if column not in new]
    retyped = [
        f"{column} ({old[column]} -> {new[column]})" for column in new if column in old and old[column] != new[column]
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
    check = {
        "check": "input schema vs production",
        "value": _input_summary(candidate, candidate["task"]),
        "bound": _input_summary(production_meta["input_schema"], production_meta["task"]),
        "production_version": version,
        "changes": changes,
    }
    if not changes:
        return {
            **check,
            "verdict": "pass",
            "reason": f"same input columns, target and task as production {version} of {name}",
        }
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
    naive = next((c for c in checks if c["check"].startswith("vs naive rule")), None)
    return {
        "passed": not failed,
        "model": best["best_model"],
        "metric": best["metric"],
        "value": best["metrics"][best["metric"]],
        # binary: the class the metrics are of, and the decision threshold inside the model (None: 0.5)
        **{key: best[key] for key in ("positive_class", "threshold", "threshold_on") if key in best},
        "naive": {key: naive.get(key) for key in ("naive_rule", "bound", "test", "lower_bound")} if naive else None,
        "checks": checks,
        "reasons": [c["reason"] for c in failed],
    }


def recorded_behaviour(meta):
    """How a registered version decides: {"positive_class", "threshold"} as recorded, or, for a version
    registered before positive classes, the rule it was gated under (the larger label, threshold 0.5)."""
    if meta.get("task") != "binary":
        return {}
    if "positive_class" in meta:
        return {"positive_class": meta["positive_class"], "threshold": meta.get("threshold")}
    return {"positive_class": None, "threshold": None, "note": "registered before positive classes: larger label, 0.5"}


def score_production(registry_root, version, name, test_path, metric, positive=None):
    """The production version's metric on the current test split (same input schema: checked before), with its
    own labels (its own threshold, or 0.5 for an old version) scored by the candidate's metric definition (F1 of
    the candidate's positive class)."""
    from snaketrain.model_metrics import prediction_metrics
    from snaketrain.registry import inference
    from snaketrain.table_io import read_table

    loaded = inference.load_version(registry_root, version, name, STAGE)
    test = read_table(test_path)
    prediction = inference.predict(loaded, test, STAGE, where=str(test_path))
    return prediction_metrics(test[loaded.input_schema["target"]], prediction, loaded.task, positive).get(metric)


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
    champion = score_production(params.registry, version, params.name, test_path, metric, best.get("positive_class"))
    if champion is None:
        return [*checks, not_compared(metric, version, f"{metric} is not measured for its task")]
    value = best["metrics"][metric]
    check = production_check(metric, value, champion, params.gate["tolerance"], version)
    behaviour = recorded_behaviour(meta)
    if behaviour:
        check["production_decides_by"] = behaviour
        if "positive_class" in best:
            check["reason"] += f" (both scored as {metric} of class {best['positive_class']!r})"
    return [*checks, check]


def inference_file_missing(root, version, name):
    return "pipeline.skops" not in registry.metadata(root, version, name)["files"]


def answers_of(best, paths):
    """The best model's test answers (evaluate_model's table), from the answers files of every model."""
    from pathlib import Path

    from snaketrain.table_io import read_table

    for path in paths:
        if Path(path).parent.name == best["best_model"]:
            return read_table(path)
    raise StageError(STAGE, f"no test answers of model {best['best_model']}", "this is a workflow bug: report it")


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        best = read_json(input.best)
        logger.info("best model %s: %s = %s", best["best_model"], best["metric"], best["metrics"][best["metric"]])
        checks = []
        if params.gate["beat_naive"]:
            target = read_json(input.schema)["target"]
            y_train = read_table(input.train, columns=[target])[target].dropna().to_numpy()
            checks.append(naive_check(best, answers_of(best, input.answers), y_train, params.gate))
        checks += threshold_checks(best["metrics"], params.gate["thresholds"])
        candidate = read_json(input.schema)
        against, compared_with = production_checks(params, candidate, best, input.test, logger)
        checks += against
        # compared_with is what deploy_model's compare-and-swap expects production to still be
        decision = {**decide(best, checks), "name": params.name, "compared_with": compared_with}
        for check in checks:
            logger.info("%s: %s", check["verdict"].upper(), check["reason"])
        logger.info("gate %s for %s", "PASSED" if decision["passed"] else "FAILED", decision["model"])
        write_json(decision, output.decision)
