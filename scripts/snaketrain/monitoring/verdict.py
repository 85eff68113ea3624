"""From per-column verdicts to a decision: did the dataset drift, does the production metric hold, retrain?"""

from snaketrain.model_metrics import is_better_or_equal

RETRAIN_MODES = ("always", "on_drift", "never")


def dataset_verdict(columns, drift_share):
    """Dataset drift as Evidently decides it: the share of drifted columns reaches drift_share.
    Columns that could not be tested (no reference values) are left out of the share."""
    tested = [name for name, column in columns.items() if column.get("tested", True)]
    drifted = sorted(name for name in tested if columns[name]["drifted"])
    share = len(drifted) / len(tested) if tested else 0.0
    return {
        "dataset_drift": bool(tested) and share >= drift_share,
        "share_drifted": round(share, 6),
        "drift_share": drift_share,
        "drifted_columns": drifted,
        "tested_columns": len(tested),
    }


def metric_check(current, registered, metric, tolerance):
    """The production model's metric on labelled current data against the metric it was registered with."""
    holds = is_better_or_equal(current, registered, metric, tolerance)
    return {"metric": metric, "current": current, "registered": registered, "tolerance": tolerance, "holds": holds}


def retrain_decision(mode, production, dataset, metric):
    """{retrain, reasons}: whether the rest of the pipeline should run after the check.

    production: the production pointer (None when there is none); dataset: dataset_verdict(...) or None;
    metric: metric_check(...) or None (the current data had no labels)."""
    reasons = []
    if production is None:
        reasons.append("no model is in production yet")
    if dataset and dataset["dataset_drift"]:
        reasons.append(
            f"the data drifted: {len(dataset['drifted_columns'])} of {dataset['tested_columns']} columns "
            f"(share {dataset['share_drifted']:.3g} >= {dataset['drift_share']:g})"
        )
    if metric and not metric["holds"]:
        reasons.append(
            f"production {metric['metric']} fell to {metric['current']:.4g} on the current data "
            f"(registered {metric['registered']:.4g}, tolerance {metric['tolerance']:g})"
        )
    if mode == "always":
        return {"retrain": True, "reasons": reasons or ["monitoring.retrain is always"]}
    if mode == "never":
        return {"retrain": False, "reasons": reasons or ["no drift"], "why": "monitoring.retrain is never"}
    if reasons:
        return {"retrain": True, "reasons": reasons}
    held = "" if metric is None else f" and production {metric['metric']} holds ({metric['current']:.4g})"
    return {"retrain": False, "reasons": [f"the data has not drifted{held}"]}
