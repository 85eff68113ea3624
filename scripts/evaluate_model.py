"""Evaluate one trained model on the test split: metrics JSON and a confusion-matrix or residual plot."""

from model_metrics import score_model
from stage_log import stage_logging
from table_io import atomic_path, read_joblib, read_json, read_table, write_json

STAGE = "evaluate_model"


def evaluate(model, X, y, task):
    return score_model(model, X, y, task)


def plot(model, X, y, task, title):
    """A matplotlib Figure (object API: jobs may run as threads, and pyplot is not thread-safe)."""
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    figure = Figure(figsize=(5, 4.5), dpi=100)
    axes = figure.add_subplot()
    y_pred = model.predict(X)
    if task == "regression":
        axes.scatter(y_pred, y - y_pred, s=8, alpha=0.6)
        axes.axhline(0, color="black", linewidth=1)
        axes.set_xlabel("predicted")
        axes.set_ylabel("residual (actual - predicted)")
    else:
        ConfusionMatrixDisplay.from_predictions(y, y_pred, ax=axes, colorbar=False)
    axes.set_title(title)
    figure.tight_layout()
    return figure


def save_png(figure, path):
    with atomic_path(path) as tmp:
        # no Software/date metadata, so that the same plot gives the same bytes
        figure.savefig(tmp, format="png", metadata={"Software": None})


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE) as logger:
        schema = read_json(input.schema)
        test = read_table(input.test)
        X, y = test.drop(columns=[schema["target"]]), test[schema["target"]]
        model = read_joblib(input.model)
        metrics = evaluate(model, X, y, schema["task"])
        logger.info("model %s on %d test rows: %s", params.model, len(X), metrics)
        write_json(
            {"model": params.model, "task": schema["task"], "test_rows": len(X), "metrics": metrics}, output.metrics
        )
        save_png(plot(model, X, y, schema["task"], f"{params.model} (test)"), output.plot)
