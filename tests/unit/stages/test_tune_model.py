"""Tuning reports its progress (candidates done of total) without changing its results."""

import pandas as pd
import pytest
from sklearn.datasets import make_classification

from snaketrain.model_metrics import positive_class
from snaketrain.stage_log import StageError
from snaketrain.stages import tune_model
from snaketrain.stages.tune_model import check_folds

SPEC = {
    "estimator": "logistic_regression",
    "params": {"max_iter": 200},
    "search_space": {"C": [0.01, 0.1, 1.0, 10.0, 100.0]},
}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return pd.DataFrame(X, columns=list("abcde")), pd.Series(y)


@pytest.mark.parametrize("method", ["grid", "random"])
def test_progress_counts_up_to_every_candidate_and_results_match_one_batch(data, method, monkeypatch):
    X, y = data
    tuning = {"method": method, "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7}
    seen = []
    batched = tune_model.tune("lr", SPEC, tuning, "binary", X, y, threads=1, progress=lambda d, t: seen.append((d, t)))
    total = 5 if method == "grid" else 4
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})  # strictly increasing
    assert len(seen) > 1
    monkeypatch.setattr(tune_model, "PROGRESS_STEPS", 1)  # everything in one batch, like the stock search
    single = tune_model.tune("lr", SPEC, tuning, "binary", X, y, threads=1)
    assert batched[:3] == single[:3]
    pd.testing.assert_frame_equal(batched[3], single[3])


@pytest.mark.parametrize(
    ("total", "folds", "workers", "expected"),
    [(4, 5, 2, 2), (4, 5, 1, 1), (100, 5, 2, 10), (3, 3, 2, 2), (1, 5, 4, 1), (40, 4, 8, 4)],
)
def test_batches_fill_every_worker(total, folds, workers, expected):
    assert tune_model.batch_size(total, folds, workers) == expected


def test_halving_reports_each_round_and_keeps_the_best_of_the_last_round():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    spec = {**SPEC, "search_space": {"C": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 0.3, 3.0]}}
    tuning = {"method": "halving", "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7, "halving_factor": 3}
    seen = []
    best, score, scoring, table = tune_model.tune(
        "lr", spec, tuning, "binary", X, pd.Series(y), threads=2, progress=lambda d, t: seen.append((d, t))
    )
    rounds = seen[-1][1]
    assert rounds >= 2
    assert seen == [(done, rounds) for done in range(1, rounds + 1)]
    # every candidate in the first round, a third of them in the next, each round on more rows
    first, last = table[table["iter"] == 0], table[table["iter"] == rounds - 1]
    assert len(first) == 9 and len(last) < len(first)
    assert last["n_resources"].iloc[0] > first["n_resources"].iloc[0]
    assert best["C"] in spec["search_space"]["C"]
    assert score == last["mean_test_score"].max()
    # threshold-free, for the positive class: the rare one of y (model_metrics.TASKS)
    assert scoring == f"average_precision (positive class {positive_class(pd.Series(y))})"


def test_halving_over_a_distribution_samples_n_iter_candidates():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    spec = {**SPEC, "search_space": {"C": {"distribution": "loguniform", "low": 0.001, "high": 100.0}}}
    tuning = {"method": "halving", "n_iter": 6, "cv": 3, "scoring": "auto", "seed": 7, "halving_factor": 2}
    best, _, _, table = tune_model.tune("lr", spec, tuning, "binary", X, pd.Series(y))
    assert (table["iter"] == 0).sum() == 6
    assert 0.001 <= best["C"] <= 100.0


HGB = {
    "estimator": "hist_gradient_boosting",
    "params": {"max_iter": 27},
    "search_space": {"learning_rate": [0.05, 0.1, 0.2, 0.3]},
}


def test_halving_gives_boosted_trees_more_iterations_not_more_rows():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    tuning = {"method": "halving", "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7, "halving_factor": 3}
    best, _, _, table = tune_model.tune("hgb", HGB, tuning, "binary", X, pd.Series(y))
    # 4 candidates with 9 iterations on all rows, then the best 2 with 27 (the configured max_iter)
    assert table.groupby("iter")["n_resources"].agg(["first", "size"]).values.tolist() == [[9, 4], [27, 2]]
    assert set(best) == {"learning_rate"}  # the last round's budget is not a tuned parameter: training uses params


def test_halving_resource_from_the_config_overrides_the_default():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    tuning = {"method": "halving", "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7, "halving_factor": 3}
    _, _, _, table = tune_model.tune("hgb", {**HGB, "halving_resource": "n_samples"}, tuning, "binary", X, pd.Series(y))
    assert table["n_resources"].max() > 27  # training rows, not iterations


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**HGB, "halving_resource": "learning_rate"}, "no whole-number parameter of that name"),
        ({**HGB, "halving_resource": "n_trees"}, "no whole-number parameter of that name"),
        ({**HGB, "search_space": {"max_iter": [10, 20]}}, "searches over 'max_iter', which successive halving sets"),
    ],
)
def test_a_halving_resource_that_cannot_work_is_named(spec, message):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    tuning = {"method": "halving", "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7, "halving_factor": 3}
    with pytest.raises(StageError, match=message) as caught:
        tune_model.tune("hgb", spec, tuning, "binary", pd.DataFrame(X), pd.Series(y))
    assert caught.value.where.endswith("estimators.hgb.halving_resource")


def test_more_folds_than_rows_of_the_smallest_class():
    y = pd.Series(["a"] * 20 + ["b"] * 3)
    with pytest.raises(StageError, match="tuning.cv is 5, but there are only 3 training rows of class 'b'") as caught:
        check_folds(5, y, "binary")
    assert "set tuning.cv to at most 3" in caught.value.fix
    assert caught.value.where == "config key tuning.cv"


def test_more_folds_than_rows_for_regression():
    with pytest.raises(StageError, match="tuning.cv is 5, but there are only 4 training rows"):
        check_folds(5, pd.Series([1.0, 2.0, 3.0, 4.0]), "regression")


def test_enough_rows_pass():
    check_folds(3, pd.Series(["a", "b"] * 3), "binary")


def test_above_holdout_above_rows_each_candidate_is_scored_on_one_seeded_holdout(data):
    X, y = data
    tuning = {"method": "grid", "n_iter": 4, "cv": 3, "scoring": "auto", "seed": 7}
    folded = tune_model.tune("lr", SPEC, {**tuning, "holdout_above": len(X)}, "binary", X, y)
    held_out = tune_model.tune("lr", SPEC, {**tuning, "holdout_above": len(X) - 1}, "binary", X, y)
    assert "split2_test_score" in folded[3] and "split1_test_score" not in held_out[3]
    assert len(held_out[3]) == len(SPEC["search_space"]["C"])
    # the same holdout every time (seeded), stratified: a third of the rows
    again = tune_model.tune("lr", SPEC, {**tuning, "holdout_above": len(X) - 1}, "binary", X, y)
    pd.testing.assert_frame_equal(held_out[3], again[3])
    ((fit_rows, score_rows),) = tune_model.splits("binary", 3, 7, len(X), len(X) - 1).split(X, y)
    assert len(score_rows) == len(X) // 3 and abs(y.iloc[score_rows].mean() - y.mean()) < 0.02
