"""The compare_models stage: the ranking by the selection metric and its table."""

from snaketrain.stages.compare_models import rank, table_csv


def test_rank_picks_best_with_direction_and_stable_ties():
    evaluations = [
        {"model": "b", "metrics": {"f1": 0.9, "rmse": 2.0}},
        {"model": "a", "metrics": {"f1": 0.9, "rmse": 3.0}},
        {"model": "c", "metrics": {"f1": 0.8, "rmse": 1.0}},
    ]
    assert [e["model"] for e in rank(evaluations, "f1")] == ["a", "b", "c"]
    assert [e["model"] for e in rank(evaluations, "rmse")] == ["c", "b", "a"]
    assert table_csv(rank(evaluations, "f1")).splitlines()[0] == "rank,model,f1,rmse"


def test_a_tie_goes_to_the_model_listed_first_in_models():
    evaluations = [{"model": name, "metrics": {"f1": 0.9}} for name in ("lightgbm", "linear", "random_forest")]
    assert rank(evaluations, "f1", ["linear", "random_forest", "lightgbm"])[0]["model"] == "linear"
    assert rank(evaluations, "f1", ["random_forest", "lightgbm", "linear"])[0]["model"] == "random_forest"
