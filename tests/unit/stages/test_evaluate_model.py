"""The evaluate_model stage: test metrics, diagnostic plots and permutation importances, on real scikit-learn models."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from snaketrain.figures import save_png
from snaketrain.stages.evaluate_model import diagnostics_figure, evaluate, importance_figure, importances
from snaketrain.stages.train_model import train


def frame(X, prefix="x"):
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=2, n_redundant=0, random_state=0)
    X = frame(X)
    return LogisticRegression().fit(X, y), X, pd.Series(y)


def png_chunks(data):
    """The chunk types of a PNG file, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        chunks.append(data[offset + 4 : offset + 8].decode("ascii"))
        offset += 12 + length
    return chunks


def axes_titles(figure):
    return [axes.get_title() for axes in figure.axes]


def test_classification_diagnostics_have_confusion_matrix_roc_and_pr(binary):
    model, X, y = binary
    figure = diagnostics_figure(model, X, y, "binary", "m")
    assert axes_titles(figure) == ["confusion matrix", "ROC curve", "precision-recall curve"]
    matrix_axes = figure.axes[0]
    # the counts written in the cells add up to the number of rows
    assert sum(int(text.get_text()) for text in matrix_axes.texts) == len(X)
    roc_label = figure.axes[1].get_legend().get_texts()[0].get_text()
    assert roc_label.startswith("1 (AUC = 0.")


def test_multiclass_curves_are_one_vs_rest_per_class():
    data = load_iris(as_frame=True)
    model = LogisticRegression(max_iter=500).fit(data.data, data.target)
    figure = diagnostics_figure(model, data.data, data.target, "multiclass", "iris")
    curves = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert len([label for label in curves if not label.startswith("Chance level")]) == 3
    assert len(figure.axes[2].get_legend().get_texts()) == 3


def test_model_without_probabilities_uses_decision_function(binary):
    _, X, y = binary
    model = LinearSVC().fit(X, y)
    figure = diagnostics_figure(model, X, y, "binary", "svm")
    assert "AUC" in figure.axes[1].get_legend().get_texts()[0].get_text()


def test_regression_diagnostics_are_predicted_vs_actual_and_residuals():
    X, y = make_regression(n_samples=200, n_features=4, noise=5, random_state=0)
    X = frame(X)
    model = LinearRegression().fit(X, y)
    figure = diagnostics_figure(model, X, pd.Series(y), "regression", "r")
    assert axes_titles(figure) == ["predicted vs actual", "residuals"]


def test_importances_rank_the_informative_feature_first():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"signal": rng.normal(size=400), "noise1": rng.normal(size=400), "noise2": rng.normal(size=400)})
    y = (X["signal"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    rows, scoring = importances(model, X, y, "binary", seed=1)
    assert scoring == "accuracy"
    assert rows[0][0] == "signal"
    assert rows[0][1] > 0.3
    assert all(abs(mean) < 0.05 for name, mean, _ in rows if name != "signal")
    # the same seed gives the same numbers
    assert importances(model, X, y, "binary", seed=1)[0] == rows


def test_pngs_are_reproducible_and_carry_no_timestamp(binary, tmp_path):
    model, X, y = binary
    paths = []
    for name in ("a.png", "b.png"):
        save_png(diagnostics_figure(model, X, y, "binary", "m"), tmp_path / name)
        paths.append(tmp_path / name)
    first, second = (path.read_bytes() for path in paths)
    assert first == second
    chunks = png_chunks(first)
    assert "tIME" not in chunks
    assert b"Software" not in first and b"matplotlib" not in first.lower()
    rows, scoring = importances(model, X, y, "binary", seed=0)
    save_png(importance_figure(rows, scoring, "t"), tmp_path / "imp.png")
    assert png_chunks((tmp_path / "imp.png").read_bytes())[-1] == "IEND"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_plotting_creates_no_pyplot_figures():
    """Jobs run as threads of one process: no figure may live in pyplot's global state (scikit-learn's Displays
    import pyplot, but draw on the axes they are given)."""
    code = textwrap.dedent(
        """
        import sys
        import pandas as pd
        from sklearn.datasets import make_classification
        from sklearn.linear_model import LogisticRegression
        from snaketrain.stages.evaluate_model import diagnostics_figure, importance_figure, importances
        from snaketrain.figures import save_png
        X, y = make_classification(n_samples=100, n_features=4, random_state=0)
        X = pd.DataFrame(X, columns=list("abcd"))
        model = LogisticRegression().fit(X, y)
        save_png(diagnostics_figure(model, X, y, "binary", "t"), sys.argv[1] + "/d.png")
        rows, scoring = importances(model, X, pd.Series(y), "binary", 0)
        save_png(importance_figure(rows, scoring, "t"), sys.argv[1] + "/i.png")
        pyplot = sys.modules.get("matplotlib.pyplot")
        print("pyplot figures" if pyplot is not None and pyplot.get_fignums() else "clean")
        """
    )
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "clean"


def features_and_target(n=150):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = pd.Series((X["a"] + 0.3 * rng.normal(size=n) > 0).astype(int))
    return X, y


def test_regression_metrics():
    X, _ = features_and_target()
    y = 3 * X["a"] + 0.1
    model = train("ridge", {"estimator": "ridge"}, {}, "regression", 0, X, y)
    metrics = evaluate(model, X, y, "regression")
    assert set(metrics) == {"rmse", "mae", "r2"} and metrics["r2"] > 0.99
