"""Compare every model's test metrics in one table and pick the best by the selection metric."""

import csv
import io

from snaketrain.model_metrics import higher_is_better, selection_metric
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, write_bytes, write_json

STAGE = "compare_models"


def rank(evaluations, metric, order=None):
    """Evaluations sorted best first; a tie goes to the model listed first in `models` (order), the user's own
    preference (a name order would crown lightgbm over a linear model with the same score)."""
    missing = [e["model"] for e in evaluations if metric not in e["metrics"]]
    if missing:
        raise StageError(
            STAGE,
            f"metric '{metric}' is not available for {', '.join(missing)}",
            "choose another selection.metric (roc_auc needs models with predict_proba)",
            "selection.metric",
        )
    sign = -1 if higher_is_better(metric) else 1
    position = {name: index for index, name in enumerate(order or sorted(e["model"] for e in evaluations))}
    return sorted(evaluations, key=lambda e: (sign * e["metrics"][metric], position.get(e["model"], len(position))))


def table_csv(ranked):
    names = sorted({name for e in ranked for name in e["metrics"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "model", *names])
    for position, evaluation in enumerate(ranked, start=1):
        writer.writerow([position, evaluation["model"], *(evaluation["metrics"].get(n, "") for n in names)])
    return buffer.getvalue()


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        evaluations = [read_json(path) for path in input.metrics]
        logger.info("read the test metrics of %d models", len(evaluations))
        task = evaluations[0]["task"]
        metric = selection_metric(params.metric, task)
        ranked = rank(evaluations, metric, params.models)
        best = ranked[0]
        logger.info("best model by %s: %s (%s)", metric, best["model"], best["metrics"][metric])
        write_bytes(table_csv(ranked).encode("utf-8"), output.table)
        write_json(
            {
                "best_model": best["model"],
                "metric": metric,
                "higher_is_better": higher_is_better(metric),
                "task": task,
                # binary: which class the metrics are of, and the decision threshold (chosen to maximise its F1)
                **{
                    key: best[key]
                    for key in ("positive_class", "threshold", "threshold_on", "classes", "scores")
                    if key in best
                },
                "metrics": best["metrics"],
                "ranking": [{"model": e["model"], metric: e["metrics"][metric]} for e in ranked],
            },
            output.best,
        )
