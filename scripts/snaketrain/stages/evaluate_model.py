"""Evaluate one trained model on the test split: metrics JSON, diagnostic plots, permutation importances, and its
answers on every test row (what the gate compares with the naive rule's on the same rows).

Plots are scikit-learn's Display objects drawn on axes of snaketrain.figures (never pyplot's figures; byte-stable PNGs).
"""

import time

from snaketrain import estimators
from snaketrain.figures import new_figure, save_png
from snaketrain.model_metrics import score_model
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_joblib, read_json, read_table, write_json, write_table

STAGE = "evaluate_model"
# permutation importance costs n_repeats predictions of every row per feature: bound the rows and the bars shown.
# 3 repeats of at most 1,000 rows, and fewer rows (down to 200) where that would exceed 100,000 predicted rows in all
# (many features); before, 5 repeats of 2,000 rows cost a boosted model's evaluation more than its training
# (bench/README.md, "Time to a good model")
IMPORTANCE_REPEATS = 3
IMPORTANCE_MAX_ROWS = 1000
IMPORTANCE_MIN_ROWS = 200
IMPORTANCE_MAX_PREDICTIONS = 100_000
IMPORTANCE_BATCH_ROWS = 50_000  # rows per predict call: bounds memory, amortises per-call overhead
IMPORTANCE_TOP = 15
MAX_CURVE_CLASSES = 10
PLOT_MAX_POINTS = 2000  # points in the regression scatter plots


def evaluate(model, X, y, task):
    return score_model(model, X, y, task)


def answers_table(model, X, y, task):
    """A table of the model's answers on the test rows, in their order: y (the truth), prediction, and for a
    classifier with scores one column score_<i> per class (model.classes_' order: probabilities, else decision
    values)."""
    import numpy as np
    import pandas as pd

    table = pd.DataFrame({"y": np.asarray(y), "prediction": np.asarray(model.predict(X))})
    scores = None if task == "regression" else class_scores(model, X)
    if scores is not None:
        for index in range(scores.shape[1]):
            table[f"score_{index}"] = scores[:, index]
    return table


def score_kind(model, task):
    """ "probabilities", "decision_function" or None: what class_scores gives for this model."""
    if task == "regression":
        return None
    return next((kind for kind, method in SCORE_KINDS if hasattr(model, method)), None)


SCORE_KINDS = (("probabilities", "predict_proba"), ("decision_function", "decision_function"))


def judged_by(model, task):
    """What the metrics are of and what decides the labels: {"positive_class", "threshold", "threshold_on"} for a
    binary classifier ("threshold": None when the model has no tuned threshold: the larger label, 0.5), {} else."""
    if task != "binary":
        return {}
    rule = estimators.threshold_rule(model)
    if rule is None:
        return {"positive_class": _plain(list(model.classes_)[1]), "threshold": None, "threshold_on": None}
    return {"positive_class": rule["positive_class"], "threshold": rule["threshold"], "threshold_on": rule["response"]}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def class_scores(model, X):
    """Per-class scores for ROC/PR curves (probabilities, else decision values), or None."""
    import numpy as np

    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X))
        # binary decision_function gives one column: the score of the positive class
        return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores
    return None


def draw_confusion_matrix(axes, y, y_pred, classes):
    from sklearn.metrics import ConfusionMatrixDisplay

    ConfusionMatrixDisplay.from_predictions(
        y, y_pred, labels=classes, display_labels=[str(c) for c in classes], ax=axes, colorbar=False, cmap="Blues"
    )
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    axes.set_title("confusion matrix")


def _curve_classes(classes, positive=None):
    """Which classes get a curve: the positive class for binary, one-vs-rest for up to MAX_CURVE_CLASSES."""
    if len(classes) == 2:
        index = classes.index(positive) if positive in classes else 1
        return [(index, classes[index])]
    return list(enumerate(classes))[:MAX_CURVE_CLASSES]


def draw_roc(axes, y, scores, classes, positive=None):
    from sklearn.metrics import RocCurveDisplay

    curves = _curve_classes(classes, positive)
    for number, (index, label) in enumerate(curves):
        last = number == len(curves) - 1
        RocCurveDisplay.from_predictions(y == label, scores[:, index], ax=axes, name=str(label), plot_chance_level=last)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC curve")
    axes.legend(loc="lower right", fontsize="small")


def draw_precision_recall(axes, y, scores, classes, positive=None):
    from sklearn.metrics import PrecisionRecallDisplay

    for index, label in _curve_classes(classes, positive):
        PrecisionRecallDisplay.from_predictions(y == label, scores[:, index], ax=axes, name=str(label))
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_ylim(0, 1.05)
    axes.set_title("precision-recall curve")
    axes.legend(loc="lower left", fontsize="small")


def _no_scores(axes, title):
    axes.text(0.5, 0.5, "the model gives no scores\n(no predict_proba or decision_function)", ha="center")
    axes.set_axis_off()
    axes.set_title(title)


def diagnostics_figure(model, X, y, task, title):
    """Classification: confusion matrix, ROC and precision-recall. Regression: predicted vs actual, residuals."""
    import numpy as np

    y = np.asarray(y)
    y_pred = np.asarray(model.predict(X))
    if task == "regression":
        from sklearn.metrics import PredictionErrorDisplay

        figure = new_figure(10, 4.5)
        left, right = figure.subplots(1, 2)
        # a fixed subsample seed keeps the plot's bytes the same from run to run
        common = {"subsample": PLOT_MAX_POINTS, "random_state": 0, "scatter_kwargs": {"s": 10, "alpha": 0.6}}
        PredictionErrorDisplay.from_predictions(y, y_pred, kind="actual_vs_predicted", ax=left, **common)
        PredictionErrorDisplay.from_predictions(y, y_pred, kind="residual_vs_predicted", ax=right, **common)
        left.set_title("predicted vs actual")
        right.set_title("residuals")
    else:
        classes = list(model.classes_)
        figure = new_figure(15, 4.5)
        matrix_axes, roc_axes, pr_axes = figure.subplots(1, 3)
        draw_confusion_matrix(matrix_axes, y, y_pred, classes)
        scores = class_scores(model, X)
        if scores is None:
            _no_scores(roc_axes, "ROC curve")
            _no_scores(pr_axes, "precision-recall curve")
        else:
            positive = getattr(model, "pos_label", None)
            draw_roc(roc_axes, y, scores, classes, positive)
            draw_precision_recall(pr_axes, y, scores, classes, positive)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def _score(task, y, y_pred):
    from sklearn.metrics import accuracy_score, r2_score

    return float(r2_score(y, y_pred) if task == "regression" else accuracy_score(y, y_pred))


def importances(model, X, y, task, seed):
    """Permutation importances on the test split: [(feature, mean, std)] sorted by mean, largest first.

    Same idea as sklearn.inspection.permutation_importance, but every shuffled copy of the data of a
    batch of features goes through ONE predict call: a call per (feature, repeat) pays the model's
    per-call overhead (thread pools, input checks) hundreds of times, which dominated the stage.
    """
    import numpy as np
    import pandas as pd

    budget = IMPORTANCE_MAX_PREDICTIONS // max(1, X.shape[1] * IMPORTANCE_REPEATS)
    most = min(IMPORTANCE_MAX_ROWS, max(IMPORTANCE_MIN_ROWS, budget))
    if len(X) > most:
        X = X.sample(n=most, random_state=seed)
        y = y.loc[X.index]
    X = X.reset_index(drop=True)
    y = np.asarray(y)
    rows = len(X)
    baseline = _score(task, y, model.predict(X))
    per_feature = IMPORTANCE_REPEATS * rows
    batch = max(1, IMPORTANCE_BATCH_ROWS // max(per_feature, 1))
    columns = list(X.columns)
    result = []
    # features of one dtype (what build_features writes) are tiled as one 2-D block, which pandas wraps without a
    # copy; mixed dtypes column by column
    block = X.to_numpy() if X.dtypes.nunique() == 1 else None
    originals = {column: X[column].to_numpy() for column in columns}
    for start in range(0, len(columns), batch):
        group = columns[start : start + batch]
        copies = len(group) * IMPORTANCE_REPEATS
        # every copy of the rows, one after another (one DataFrame per batch, not one per copy: pandas' per-frame
        # overhead cost as much as the predictions)
        if block is not None:
            tiled = np.tile(block, (copies, 1))
            stacked = {column: tiled[:, index] for index, column in enumerate(columns)}
        else:
            stacked = {column: np.tile(values, copies) for column, values in originals.items()}
        for offset, column in enumerate(group):
            rng = np.random.default_rng([seed, start + offset])
            values = originals[column]
            for repeat in range(IMPORTANCE_REPEATS):
                first = (offset * IMPORTANCE_REPEATS + repeat) * rows
                stacked[column][first : first + rows] = values[rng.permutation(rows)]
        frame = pd.DataFrame(tiled, columns=columns, copy=False) if block is not None else pd.DataFrame(stacked)
        predicted = np.asarray(model.predict(frame[columns] if block is None else frame))
        for offset, column in enumerate(group):
            drops = [
                baseline - _score(task, y, predicted[(offset * IMPORTANCE_REPEATS + r) * rows :][:rows])
                for r in range(IMPORTANCE_REPEATS)
            ]
            result.append((str(column), round(float(np.mean(drops)), 6), round(float(np.std(drops)), 6)))
    scoring = "r2" if task == "regression" else "accuracy"
    return sorted(result, key=lambda row: (-row[1], row[0])), scoring


def importance_figure(rows, scoring, title):
    top = rows[:IMPORTANCE_TOP][::-1]
    figure = new_figure(7, max(2.5, 0.35 * len(top) + 1.2))
    axes = figure.add_subplot()
    positions = range(len(top))
    axes.barh(
        positions,
        [r[1] for r in top],
        xerr=[r[2] for r in top],
        color="tab:blue",
        alpha=0.8,
        error_kw={"ecolor": "0.4", "elinewidth": 1, "capsize": 2},
    )
    axes.set_yticks(positions, [r[0] for r in top])
    axes.axvline(0, color="black", linewidth=1)
    axes.set_xlabel(f"mean drop in {scoring} when the feature is shuffled")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        schema = read_json(input.schema)
        test = read_table(input.test)
        X, y = test.drop(columns=[schema["target"]]), test[schema["target"]]
        logger.info("read %d test rows x %d features from %s", *X.shape, input.test)
        model = read_joblib(input.model)
        metrics = evaluate(model, X, y, schema["task"])
        logger.info("model %s on %d test rows: %s", params.model, len(X), metrics)
        started = time.perf_counter()
        rows, scoring = importances(model, X, y, schema["task"], params.seed)
        logger.info(
            "permutation importances (%s, %d repeats) in %.2f s; top: %s",
            scoring,
            IMPORTANCE_REPEATS,
            time.perf_counter() - started,
            ", ".join(f"{name} {mean:.4f}" for name, mean, _ in rows[:5]),
        )
        answers = answers_table(model, X, y, schema["task"])
        write_table(answers, output.answers)
        write_json(
            {
                "model": params.model,
                "task": schema["task"],
                "test_rows": len(X),
                **judged_by(model, schema["task"]),
                # what the answers' score columns are: the gate tests skill with probabilities (Brier score)
                "scores": score_kind(model, schema["task"]),
                **({} if schema["task"] == "regression" else {"classes": [_plain(c) for c in model.classes_]}),
                "metrics": metrics,
                "importances": {
                    "scoring": scoring,
                    "features": [{"feature": n, "mean": m, "std": s} for n, m, s in rows],
                },
            },
            output.metrics,
        )
        save_png(diagnostics_figure(model, X, y, schema["task"], f"{params.model} (test split)"), output.plot)
        save_png(
            importance_figure(rows, scoring, f"{params.model}: permutation feature importance (test split)"),
            output.importance,
        )
        logger.info("wrote %s and %s", output.plot, output.importance)
