"""The quality_gate stage: threshold checks, the decision with its reasons, the comparison with production."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from snaketrain.registry import model_registry
from snaketrain.stages.quality_gate import (
    decide,
    naive_check,
    production_check,
    recorded_behaviour,
    run,
    schema_check,
    score_production,
    threshold_checks,
)
from snaketrain.table_io import read_json, write_json, write_table
from tests.fitted_models import NAME, publish_fitted, rows

GATE = {"beat_naive": True, "confidence": 0.95, "resamples": 1000, "seed": 42, "thresholds": {}}
GATE.update(tolerance=0.01, allow_schema_change=False)
BEST = {"best_model": "rf", "metric": "f1", "metrics": {"accuracy": 0.95, "f1": 0.94}, "task": "binary"}


def test_thresholds_are_minimums_or_maximums_by_metric():
    checks = threshold_checks({"f1": 0.94, "rmse": 3.0}, {"f1": 0.9, "rmse": 2.0, "accuracy": 0.5})
    verdicts = {c["check"]: c["verdict"] for c in checks}
    assert verdicts == {"min f1": "pass", "max rmse": "fail", "min accuracy": "skipped"}


def test_gate_fails_with_reasons_and_passes_otherwise():
    failing = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.99}))
    assert not failing["passed"] and failing["reasons"] == ["f1 0.94 misses >= 0.99"]
    passing = decide(BEST, threshold_checks(BEST["metrics"], {"f1": 0.9}))
    assert passing["passed"] and passing["model"] == "rf"


def test_candidate_worse_than_production_beyond_tolerance_fails():
    assert production_check("f1", 0.94, 0.945, 0.01, "v1")["verdict"] == "pass"
    check = production_check("f1", 0.90, 0.95, 0.01, "v1")
    assert check["verdict"] == "fail" and "worse than production v1" in check["reason"]
    # a failure reads as one: never "within tolerance"
    assert check["reason"] == "f1 0.9 is worse than production v1 (0.95) by more than the tolerance 0.01"
    assert "within" not in production_check("f1", 0.94, 0.945, 0.01, "v1")["reason"]


def test_the_production_model_is_scored_on_the_current_test_split(tmp_path):
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    test = rows(80, seed=4)
    write_table(test, tmp_path / "test.parquet")
    score = score_production(root, version, NAME, tmp_path / "test.parquet", "f1")
    assert 0.8 < score <= 1
    # (a production version with other columns, target or task is caught by schema_check before scoring)


LEGACY = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_registry"
PRODUCTION_META = {
    "task": "binary",
    "input_schema": {"target": "species", "columns": {"bill": "numeric", "island": "categorical", "mass": "numeric"}},
}


def test_the_same_input_as_production_passes_the_schema_check():
    candidate = {
        "target": "species",
        "task": "binary",
        "columns": {"island": "categorical", "bill": "numeric", "mass": "numeric"},
    }
    check = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=False)
    assert check["verdict"] == "pass" and check["changes"] == {}


def test_other_columns_target_or_task_fail_the_gate_naming_what_changed():
    candidate = {
        "target": "sex",
        "task": "multiclass",
        "columns": {"bill": "categorical", "island": "numeric", "year": "numeric"},
    }
    check = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=False)
    assert check["verdict"] == "fail"
    assert check["changes"] == {
        "columns_added": ["year"],
        "columns_removed": ["mass"],
        "columns_retyped": ["island (categorical -> numeric)"],
        "target": {"production": "species", "candidate": "sex"},
        "task": {"production": "binary", "candidate": "multiclass"},
    }
    assert "columns added: year; columns removed: mass" in check["reason"]
    assert "target species -> sex; task binary -> multiclass" in check["reason"]
    assert "gate.allow_schema_change" in check["reason"]
    decision = decide(BEST, [check])
    assert not decision["passed"] and decision["reasons"] == [check["reason"]]
    allowed = schema_check(candidate, PRODUCTION_META, "v1", "penguins", allow=True)
    assert allowed["verdict"] == "pass" and "allowed by gate.allow_schema_change" in allowed["reason"]
    assert decide(BEST, [allowed])["passed"]


def test_a_number_now_read_as_a_code_is_a_feature_change_not_an_input_change():
    # a registered version of the old layout (tests/fixtures/legacy_registry): every column numeric, no kinds
    legacy = json.loads((LEGACY / "versions" / "7adbff7bd3a28336" / "metadata.json").read_text())
    columns = dict(legacy["input_schema"]["columns"])
    candidate = {"target": "target", "task": "binary", "columns": {**columns, "mean area": "categorical"}}
    check = schema_check(candidate, legacy, "7adbff7bd3a28336", "breast_cancer", allow=False)
    assert check["verdict"] == "pass" and check["changes"] == {}
    assert check["feature_changes"] == {"columns_recoded": ["mean area (numeric -> categorical)"]}
    assert "a feature change, not an input change" in check["reason"]
    # the other way, text a client sends would be refused: that still changes the input
    production = {**legacy, "input_schema": {**legacy["input_schema"], "columns": candidate["columns"]}}
    reverse = schema_check({**candidate, "columns": columns}, production, "v2", "breast_cancer", allow=False)
    assert reverse["verdict"] == "fail"
    assert reverse["changes"] == {"columns_retyped": ["mean area (categorical -> numeric)"]}


class Job:
    """The input/output/params objects a rule passes to run()."""

    def __init__(self, **items):
        self.__dict__.update(items)


def gate(tmp_path, root):
    """Run the stage on a candidate that takes the toy input; its decision."""
    write_json(BEST, tmp_path / "best.json")
    schema = {"target": "y", "task": "binary", "columns": {"x": "numeric", "n": "numeric", "colour": "categorical"}}
    write_json(schema, tmp_path / "schema.json")
    write_table(rows(80, seed=4), tmp_path / "test.parquet")
    job = Job(best=tmp_path / "best.json", schema=tmp_path / "schema.json", test=tmp_path / "test.parquet")
    params = Job(registry=root, name=NAME, gate={**GATE, "beat_naive": False, "tolerance": 1.0})
    run(job, Job(decision=tmp_path / "decision.json"), params, [tmp_path / "quality_gate.log"])
    return read_json(tmp_path / "decision.json")


def test_the_decision_records_the_production_version_it_compared_with(tmp_path):
    root = tmp_path / "registry"
    assert gate(tmp_path, root)["compared_with"] is None  # nothing in production yet
    version, _ = publish_fitted(root, tmp_path, "binary")
    model_registry.promote(root, version, NAME)
    decision = gate(tmp_path, root)
    assert decision["compared_with"] == version
    assert {c.get("production_version") for c in decision["checks"]} == {version}


def rare_answers(n=1000, share=0.05, skill=1.0, seed=0):
    """A test split with a rare class 'bad', and answers whose scores know `skill` about it (0: pure noise)."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < share, "bad", "good")
    score = rng.random(n) + skill * (y == "bad")
    prediction = np.where(score >= np.quantile(score, 1 - 2 * share), "bad", "good")
    answers = pd.DataFrame({"y": y, "prediction": prediction, "score_0": score, "score_1": -score})
    best = {"best_model": "rf", "metric": "f1", "task": "binary", "positive_class": "bad", "classes": ["bad", "good"]}
    return best, answers, np.where(rng.random(5 * n) < share, "bad", "good")


def test_a_model_that_knows_the_rare_class_beats_the_naive_rule():
    best, answers, y_train = rare_answers(skill=1.0)
    check = naive_check(best, answers, y_train, GATE)
    assert check["verdict"] == "pass" and check["naive_rule"] == "always the positive class (bad)"
    assert check["value"] > check["bound"] and check["lower_bound"] > 0
    assert "beats the naive rule" in check["reason"] and "of class 'bad'" in check["reason"]


@pytest.mark.parametrize("seed", range(5))
def test_a_noisy_model_does_not_beat_always_the_positive_class(seed):
    """Noise that answers 'bad' for 10 % of the rows scores an F1 of 'bad' above 0 (what the constant 'good' rule
    scores), but not above 'always bad': the gate fails it and names the naive rule."""
    best, answers, y_train = rare_answers(skill=0.0, seed=seed)
    check = naive_check(best, answers, y_train, GATE)
    assert check["verdict"] == "fail" and check["value"] > 0
    assert "does not beat the naive rule (always the positive class (bad)" in check["reason"]


def test_the_naive_check_is_the_same_on_every_run_and_follows_its_seed():
    best, answers, y_train = rare_answers(skill=0.3, n=400)
    first, again = (naive_check(best, answers, y_train, GATE) for _ in range(2))
    assert first == again
    other = naive_check(best, answers, y_train, {**GATE, "seed": 7})
    assert other["lower_bound"] != first["lower_bound"] and other["difference"] == first["difference"]


def test_regression_and_multiclass_beat_the_mean_and_the_most_frequent_class():
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    answers = pd.DataFrame({"y": y, "prediction": y + 0.3 * rng.normal(size=500)})
    best = {"best_model": "ridge", "metric": "rmse", "task": "regression"}
    check = naive_check(best, answers, rng.normal(size=2000), GATE)
    assert check["verdict"] == "pass" and check["naive_rule"].startswith("the training mean")
    shuffled = answers.assign(prediction=rng.permutation(answers["prediction"].to_numpy()))
    assert naive_check(best, shuffled, rng.normal(size=2000), GATE)["verdict"] == "fail"
    labels = rng.choice(["a", "b", "c"], p=[0.6, 0.3, 0.1], size=600)
    multi = pd.DataFrame({"y": labels, "prediction": np.where(rng.random(600) < 0.8, labels, "a")})
    best = {"best_model": "rf", "metric": "f1", "task": "multiclass", "classes": ["a", "b", "c"]}
    check = naive_check(best, multi, labels, GATE)
    assert check["verdict"] == "pass" and check["naive_rule"] == "always the most frequent class (a)"


def test_a_model_without_probabilities_is_judged_on_its_labels():
    best, answers, y_train = rare_answers()
    check = naive_check(best, answers[["y", "prediction"]], y_train, GATE)
    assert check["verdict"] == "pass"
    auc = naive_check({**best, "metric": "roc_auc"}, answers[["y", "prediction"]], y_train, GATE)
    assert auc["verdict"] == "fail" and "gives none" in auc["reason"]


def test_the_gate_stage_writes_the_naive_rule_beside_the_candidate(tmp_path):
    best, answers, y_train = rare_answers()
    best = {**best, "metrics": {"f1": 0.5}, "threshold": 0.3, "threshold_on": "predict_proba"}
    write_json(best, tmp_path / "best.json")
    write_json({"target": "y", "task": "binary", "columns": {}}, tmp_path / "schema.json")
    (tmp_path / "rf").mkdir()
    write_table(answers, tmp_path / "rf" / "answers.parquet")
    write_table(pd.DataFrame({"y": y_train}), tmp_path / "train.parquet")
    job = Job(
        best=tmp_path / "best.json",
        schema=tmp_path / "schema.json",
        test=tmp_path / "test.parquet",
        train=tmp_path / "train.parquet",
        answers=[tmp_path / "rf" / "answers.parquet"],
    )
    params = Job(registry=tmp_path / "registry", name=NAME, gate=GATE)
    run(job, Job(decision=tmp_path / "decision.json"), params, [tmp_path / "quality_gate.log"])
    decision = read_json(tmp_path / "decision.json")
    assert decision["passed"] and decision["positive_class"] == "bad" and decision["threshold"] == 0.3
    assert decision["naive"]["naive_rule"] == "always the positive class (bad)"
    assert decision["naive"]["bound"] < decision["value"]


def test_an_old_production_version_is_scored_with_its_own_labels_on_the_candidates_class(tmp_path):
    """A version registered before positive classes decides by 0.5 and the larger label ('yes'); the gate scores
    its labels as F1 of the candidate's positive class."""
    root = tmp_path / "registry"
    version, _ = publish_fitted(root, tmp_path, "binary")
    meta = model_registry.metadata(root, version, NAME)
    assert recorded_behaviour(meta)["positive_class"] is None
    assert recorded_behaviour({"task": "binary", "positive_class": "no", "threshold": 0.2}) == {
        "positive_class": "no",
        "threshold": 0.2,
    }
    write_table(rows(80, seed=4), tmp_path / "test.parquet")
    of_yes = score_production(root, version, NAME, tmp_path / "test.parquet", "f1", "yes")
    of_no = score_production(root, version, NAME, tmp_path / "test.parquet", "f1", "no")
    assert of_yes != of_no and 0.8 < of_no <= 1


def with_probabilities(n, share, skill, seed):
    """Test answers with class probabilities ('bad' first) that know `skill` about the truth (0: the prior)."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < share, "bad", "good")
    logit = np.log(share / (1 - share)) + skill * np.where(y == "bad", 1, -1) + rng.normal(scale=0.5, size=n)
    proba = 1 / (1 + np.exp(-logit))
    prediction = np.where(proba >= share, "bad", "good")
    answers = pd.DataFrame({"y": y, "prediction": prediction, "score_0": proba, "score_1": 1 - proba})
    best = {"best_model": "rf", "metric": "f1", "task": "binary", "positive_class": "bad"}
    best.update(classes=["bad", "good"], scores="probabilities")
    return best, answers, np.where(rng.random(5 * n) < share, "bad", "good")


def test_probabilities_tell_skill_from_luck_on_a_small_test_split():
    """60 nearly balanced test rows: F1 against "always the positive class" cannot tell a skilled model from luck,
    the Brier score of its probabilities against the class prior can; noise probabilities fail."""
    best, answers, y_train = with_probabilities(60, 0.45, 1.2, seed=3)
    check = naive_check(best, answers, y_train, GATE)
    assert check["verdict"] == "pass" and check["test"] == "brier" and check["brier"] < check["brier_naive"]
    assert "beats the naive rule (always the positive class (bad)" in check["reason"]
    for seed in range(3):
        best, answers, y_train = with_probabilities(400, 0.1, 0.0, seed=seed)
        check = naive_check(best, answers, y_train, GATE)
        assert check["verdict"] == "fail" and "does not beat the naive rule" in check["reason"]
        assert check["lower_bound"] <= 0  # the Brier score's gain over the prior: none beyond chance
