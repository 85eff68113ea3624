"""bench/automl.py's judgement and tables: the metrics both sides are scored with, the ratio and difference, and
the README section it rewrites (the runs themselves, snakemake and FLAML, are the benchmark's, not the tests')."""

import math

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def automl():
    import automl  # bench/automl.py (bench/ is on pytest's pythonpath)

    return automl


def test_the_positive_class_is_the_rare_one_as_the_pipelines_default(automl):
    assert automl.positive_class(pd.Series(["no"] * 8 + ["yes"] * 2)) == "yes"
    assert automl.positive_class(pd.Series(["a", "b"] * 3)) == "b"  # a tie: the larger label


def test_scores_are_roc_auc_of_the_positive_class_macro_ovr_and_rmse(automl):
    truth = pd.Series(["no", "yes", "no", "yes"])
    # columns in the model's class order: the positive class's column is found by label, not by position
    metric, value = automl.score(
        "binary", truth, [[0.1, 0.9], [0.8, 0.2], [0.2, 0.8], [0.7, 0.3]], ["yes", "no"], "yes"
    )
    assert (metric, value) == ("roc_auc", 1.0)
    metric, value = automl.score("multiclass", pd.Series([0, 1, 2]), np.eye(3), [0, 1, 2])
    assert (metric, value) == ("roc_auc_ovr", 1.0)
    metric, value = automl.score("regression", pd.Series([1.0, 3.0]), [2.0, 2.0], None)
    assert metric == "rmse" and math.isclose(value, 1.0)


def entry(metric, ours, theirs, our_time, their_time):
    pipeline = {"wall_s": our_time, "promoted": True, "best": {"best_model": "lightgbm"}, "load_before": [1.0]}
    flaml = {"wall_s": their_time, "metric": theirs}
    return {"task": "binary", "rows": 1000, "metric": metric, "snaketrain": ours, "pipeline": pipeline, "flaml": flaml}


def test_ratio_and_difference_are_signed_so_that_positive_quality_is_ours(automl):
    verdict = automl.judged(entry("roc_auc", 0.85, 0.84, 30.0, 60.0))
    assert verdict["ratio"] == 0.5 and verdict["quality"] == pytest.approx(0.01) and verdict["within_bounds"]
    verdict = automl.judged(entry("rmse", 10.4, 10.0, 30.0, 60.0))  # 4 % more error: beyond the 3 % allowed
    assert verdict["difference"] == pytest.approx(0.04) and verdict["quality"] < 0 and not verdict["within_bounds"]
    assert not automl.judged(entry("roc_auc", 0.85, 0.84, 95.0, 60.0))["within_bounds"]  # 1.58x the time


def test_the_table_gives_one_sign_for_every_metric_and_marks_the_figure_beyond_its_bound(automl):
    results = {
        "date": "d",
        "machine": {"cores": 2, "platform": "p", "python": "3.11", "packages": {}},
        "python": "py",
        "budget_s": 60,
        "cores": 2,
        "load_start": [1.0],
        "load_end": [1.0],
        "tables": {
            "lower_rmse": {**entry("rmse", 9.0, 10.0, 30.0, 60.0), "task": "regression"},
            "higher_rmse": {**entry("rmse", 10.4, 10.0, 30.0, 60.0), "task": "regression"},
            "slow": entry("roc_auc", 0.85, 0.84, 120.0, 60.0),
        },
    }
    rows = {line.split(" | ")[0].lstrip("| "): line for line in automl.markdown(results).splitlines() if " | " in line}
    assert "| +10.0 % of RMSE |" in rows["lower_rmse"] and "(!)" not in rows["lower_rmse"]  # lower RMSE: positive
    assert "| -4.0 % of RMSE (!) |" in rows["higher_rmse"] and "0.50x |" in rows["higher_rmse"]
    assert "| 2.00x (!) | +0.0100 |" in rows["slow"]  # the time is beyond its bound, the quality is not


def test_the_readme_section_is_replaced_between_its_markers(automl, tmp_path):
    results = {
        "date": "d",
        "machine": {"cores": 2, "platform": "p", "python": "3.11", "packages": {"flaml": "2.8.0"}},
        "python": "py",
        "budget_s": 60,
        "cores": 2,
        "load_start": [1.0],
        "load_end": [1.0],
        "tables": {"telco_churn": entry("roc_auc", 0.85, 0.84, 30.0, 60.0)},
    }
    text = automl.markdown(results)
    assert (
        "| telco_churn | binary | 1,000 | roc_auc | 0.8400 | 0.8500 | lightgbm | 30.0 s | 60.0 s (60 s) | 0.50x" in text
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{automl.BEGIN}\nold\n{automl.END}\nafter\n")
    automl.write_readme(text, readme)
    automl.write_readme(text, readme)  # twice: the same file
    content = readme.read_text()
    assert content.startswith("intro\n") and content.endswith(f"{automl.END}\nafter\n") and "old" not in content
    assert content.count(automl.BEGIN) == 1 and text in content
