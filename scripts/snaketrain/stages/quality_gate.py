"""The quality gate: does the best model beat the naive rule for its task by a margin chance does not give (a
paired bootstrap over the test rows, below; docs/gate.md), meet every
configured threshold (none by default), take the same input as the production version of its registered model
name, and is it no worse than that version?

Light by design: numpy and pyarrow for the naive rule; scikit-learn only when a production model exists and has
to be scored on the current test split, so that the comparison is on the same data.
"""

import numpy as np

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

    metric, task = best["metric"], best["task"]
    positive = best.get("positive_class") if task == "binary" else None
    rule = naive_rule(task, metric, y_train, positive)
    y = answers["y"].to_numpy()
    score_columns = sorted((c for c in answers.columns if c.startswith("score_")), key=lambda c: int(c[6:]))
    scores = answers[score_columns].to_numpy() if score_columns else None
    candidate = {"pred": answers["prediction"].to_numpy(), "scores": scores}
    naive = {"pred": naive_predictions(rule, len(y)), "scores": None}
    classes = best.get("classes")
    check = {"check": f"vs naive rule {metric}", "naive_rule": rule["rule"]}
    if metric == "roc_auc" and scores is None:
        reason = (
            f"{metric} needs the model's scores, and {best['best_model']} gives none: it cannot be judged against the "
            "naive rule (choose another selection.metric)"
        )
        return {**check, "value": None, "bound": None, "verdict": "fail", "reason": reason}
    settings = (gate["resamples"], gate["seed"], gate["confidence"])
    of_class = positive if metric in POSITIVE_METRICS else None
    on_metric = paired_bootstrap(metric, y, candidate, naive, *settings, positive=of_class, classes=classes)
    level = f"{on_metric['confidence']:.0%}"
    of = f" of class {positive!r}" if of_class is not None else ""
    said = f"{metric}{of} = {on_metric['candidate']}"
    against = f"the naive rule ({rule['rule']}: {on_metric['naive']})"
    how = f" (paired bootstrap of the test rows, {on_metric['resamples']} resamples, seed {on_metric['seed']})"
    check.update(value=on_metric["candidate"], bound=on_metric["naive"], difference=on_metric["difference"])
    check.update(confidence=on_metric["confidence"], resamples=on_metric["resamples"], seed=on_metric["seed"])
    if task != "regression" and best.get("scores") == "probabilities" and scores is not None:
        prior = np.tile(class_prior(y_train, classes), (len(y), 1))
        skill = paired_bootstrap("brier", y, {"scores": scores}, {"scores": prior}, *settings, classes=classes)
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
    return registry.PIPELINE_FILE not in registry.metadata(root, version, name)["files"]


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


# ---- the naive rule and the paired bootstrap
# The naive rule a model must beat, and by how much chance could make it look better: a paired bootstrap of the
# selection metric over the test rows (docs/gate.md says why these statistics).
#
# The naive rule is the best constant answer for the metric, learnt from the training part and scored on the same
# test rows as the model:
# - regression: the mean of the training target, for every row;
# - F1, precision and recall of the positive class (binary): "always the positive class". The most frequent class
#   scores 0 on these when the positive class is the rare one, and any answer that ignores the features (a noisy
#   model) expects no more than the positive class's prevalence as precision, so "always positive" is the constant to
#   beat: a model that beats it by a margin has learnt something about the rare class;
# - accuracy and macro F1, precision and recall (multiclass): the most frequent class of the training part;
# - ROC AUC: one score for every row (the class prior), whose ROC AUC is 0.5;
# - class probabilities (Brier score, the test of skill when a classifier gives probabilities): the class prior of the
#   training part for every row.
#
# Standard library and numpy only (the gate is a light job).

POSITIVE_METRICS = frozenset({"f1", "precision", "recall"})
ERRORS = frozenset({"rmse", "mae", "brier"})
# resamples x rows held in memory at once: on 2,000 test rows, 2,000,000 cells took 125 MB at the peak (the draws,
# their counts and weights, each that size) and 250,000 take 18 MB, as fast; the draws are the same either way
CELLS = 250_000


def most_frequent(y):
    """The most frequent label of y; a tie goes to the label that sorts first (as text)."""
    values, counts = np.unique(np.asarray(y, dtype=object).astype(str), return_counts=True)
    label = values[np.argmax(counts)]  # np.unique sorts, argmax takes the first of the largest counts
    originals = {str(value): value for value in y}
    value = originals[label]
    return value.item() if hasattr(value, "item") else value


def naive_rule(task, metric, y_train, positive=None):
    """{"rule": a sentence, "label" or "value" or "score": the constant}: the naive rule for metric on a task."""
    if task == "regression":
        mean = float(np.mean(np.asarray(y_train, dtype=float)))
        return {"rule": f"the training mean ({mean:.6g}) for every row", "value": mean}
    if metric == "roc_auc":
        return {"rule": "one score for every row (the class prior): ROC AUC 0.5", "score": 0.5}
    if task == "binary" and metric in POSITIVE_METRICS:
        return {"rule": f"always the positive class ({positive})", "label": positive}
    label = most_frequent(y_train)
    return {"rule": f"always the most frequent class ({label})", "label": label}


def class_prior(y_train, classes):
    """The share of each class (classes' order) in the training part: the naive rule's probabilities."""
    y_train = np.asarray(y_train, dtype=object)
    return np.array([np.mean(y_train == label) for label in classes], dtype=float)


def naive_predictions(rule, rows):
    """The naive rule's answers for `rows` test rows: labels, values, or None (a constant score)."""
    if "label" in rule:
        return np.full(rows, rule["label"], dtype=object)
    if "value" in rule:
        return np.full(rows, rule["value"], dtype=float)
    return None


def resample_weights(rows, resamples, seed):
    """Chunks of bootstrap weights (resamples x rows: how often each row is drawn), seeded: the same on every run."""
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, rows, size=(size, rows))
        offsets = (np.arange(size) * rows)[:, None]
        yield np.bincount((drawn + offsets).ravel(), minlength=size * rows).reshape(size, rows).astype(float)


def _ratio(top, bottom):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), 0.0)


def _class_scores(weights, y, pred, label, metric):
    truth, said = (y == label).astype(float), (pred == label).astype(float)
    tp, pp, ap = weights @ (truth * said), weights @ said, weights @ truth
    if metric == "precision":
        return _ratio(tp, pp)
    if metric == "recall":
        return _ratio(tp, ap)
    return _ratio(2 * tp, pp + ap)


def _binary_auc(weights, y_positive, score):
    """ROC AUC of score for y_positive under each row of weights (ties count a half, as scikit-learn's)."""
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    positive = y_positive[order].astype(float)
    w = weights[:, order]
    pos = np.add.reduceat(w * positive, starts, axis=1)
    neg = np.add.reduceat(w * (1 - positive), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((total_pos > 0) & (total_neg > 0), wins / (total_pos * total_neg), np.nan)


def weighted_metric(metric, weights, y, pred=None, scores=None, positive=None, classes=None):
    """metric of the answers against y under each row of weights (resamples x rows); one value per resample.

    pred: labels or values; scores: rows x classes (classes' order) for ROC AUC, or None for a constant score;
    positive: the positive class of a binary task (F1, precision, recall of it), None for macro averages."""
    if metric == "brier":  # mean over rows of the squared distance of the class probabilities from the truth
        truth = np.column_stack([np.asarray(y, dtype=object) == label for label in classes]).astype(float)
        return weights @ ((np.asarray(scores, dtype=float) - truth) ** 2).sum(axis=1) / weights.sum(axis=1)
    if metric in ("rmse", "mae", "r2"):
        y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
        if metric == "mae":
            return weights @ np.abs(y - pred) / weights.sum(axis=1)
        squared = weights @ (y - pred) ** 2
        if metric == "rmse":
            return np.sqrt(squared / weights.sum(axis=1))
        n = weights.sum(axis=1)
        spread = weights @ y**2 - (weights @ y) ** 2 / n
        return 1 - _ratio(squared, spread)
    y = np.asarray(y, dtype=object)
    if metric == "roc_auc":
        if scores is None:
            return np.full(len(weights), 0.5)
        if len(classes) == 2:
            return _binary_auc(weights, y == classes[1], np.asarray(scores)[:, 1])
        per_class = [_binary_auc(weights, y == label, np.asarray(scores)[:, i]) for i, label in enumerate(classes)]
        return np.mean(per_class, axis=0)
    pred = np.asarray(pred, dtype=object)
    if metric == "accuracy":
        return weights @ (y == pred).astype(float) / weights.sum(axis=1)
    if positive is not None:
        return _class_scores(weights, y, pred, positive, metric)
    # macro average over the labels of the whole test split and the answers, as scikit-learn's on those rows
    labels = sorted(set(y.tolist()) | set(pred.tolist()), key=str)
    return np.mean([_class_scores(weights, y, pred, label, metric) for label in labels], axis=0)


def point(metric, y, pred=None, scores=None, positive=None, classes=None):
    """metric on the test rows themselves (every row once)."""
    ones = np.ones((1, len(y)))
    return float(weighted_metric(metric, ones, y, pred, scores, positive, classes)[0])


def paired_bootstrap(metric, y, candidate, naive, resamples, seed, confidence, positive=None, classes=None):
    """How much better the candidate is than the naive rule on metric, and how sure: both scored on the same
    resamples of the test rows (paired), `resamples` of them drawn with `seed`.

    candidate, naive: {"pred": labels or values, "scores": rows x classes or None}. Returns {candidate, naive,
    difference (better is positive, whatever the metric's direction), lower (the one-sided `confidence` lower
    bound of the difference: its (1 - confidence) quantile over the resamples), resamples, seed, confidence}."""
    sign = -1.0 if metric in ERRORS else 1.0
    common = {"positive": positive, "classes": classes}
    differences = []
    for weights in resample_weights(len(y), resamples, seed):
        mine = weighted_metric(metric, weights, y, candidate.get("pred"), candidate.get("scores"), **common)
        theirs = weighted_metric(metric, weights, y, naive.get("pred"), naive.get("scores"), **common)
        differences.append(sign * (mine - theirs))
    differences = np.concatenate(differences)
    differences = differences[~np.isnan(differences)]
    mine = point(metric, y, candidate.get("pred"), candidate.get("scores"), **common)
    theirs = point(metric, y, naive.get("pred"), naive.get("scores"), **common)
    lower = float(np.quantile(differences, 1 - confidence)) if len(differences) else float("nan")
    return {
        "candidate": round(mine, 6),
        "naive": round(theirs, 6),
        "difference": round(sign * (mine - theirs), 6),
        "lower": round(lower, 6),
        "resamples": resamples,
        "seed": seed,
        "confidence": confidence,
    }
