"""Issue 32's judgement: a rare positive class gets a model that answers it (its threshold tuned inside the
Pipeline), judged against the naive rule; a real table whose target is shuffled fails the gate, naming that rule."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from snaketrain.registry import inference
from tests.harness import copy_project, snakemake

pytestmark = pytest.mark.workflow

ARGS = ("--cores", "2", "--configfile", "config/user.yaml")


def project(tmp_path, table, target):
    workdir = copy_project(tmp_path / "project")
    (workdir / "data").mkdir()
    table.to_csv(workdir / "data" / "table.csv", index=False)
    (workdir / "config" / "user.yaml").write_text(
        f"data: {{name: judged, source: file, path: data/table.csv, target: {target}}}\n"
        "models: [linear, random_forest]\ntuning: {cv: 3}\n"
    )
    return workdir


def rare_loans(n=3000, seed=0):
    """5 % bad loans, driven by two of four columns."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.normal(size=(n, 4)), columns=["income", "debt", "age", "tenure"])
    risk = table["debt"] - table["income"] + 0.7 * rng.normal(size=n)
    table["status"] = np.where(risk > np.quantile(risk, 0.95), "bad", "good")
    return table


def test_a_rare_class_gets_a_model_that_answers_it_and_beats_the_naive_rule(tmp_path):
    workdir = project(tmp_path, rare_loans(), "status")
    out = snakemake(workdir, *ARGS).stdout
    decision = json.loads((workdir / "results" / "gate" / "decision.json").read_text())
    assert decision["passed"], decision["reasons"]
    assert decision["positive_class"] == "bad" and 0 < decision["threshold"] < 1
    assert decision["naive"]["naive_rule"] == "always the positive class (bad)"
    assert decision["naive"]["bound"] < decision["value"] and decision["naive"]["lower_bound"] > 0
    assert "naive rule:   always the positive class (bad)" in out
    metrics = json.loads((workdir / "results" / "evaluation" / decision["model"] / "metrics.json").read_text())
    assert metrics["positive_class"] == "bad" and metrics["threshold"] == decision["threshold"]
    # the registered Pipeline answers 'bad' for some loans: not the constant rule
    loaded = inference.load_production(workdir / "registry", "judged")
    assert loaded.metadata["positive_class"] == "bad"
    labels = inference.predict(loaded, rare_loans(seed=1).drop(columns="status")).labels
    assert 0 < (labels == "bad").sum() < len(labels) / 4
    gate_page = (workdir / "results" / "report" / "gate.html").read_text()
    assert "Against the naive rule" in gate_page and "Decision threshold" in gate_page


def test_a_shuffled_target_fails_the_gate_naming_the_naive_rule(tmp_path):
    table = load_breast_cancer(as_frame=True).frame
    table["target"] = np.random.default_rng(0).permutation(table["target"].to_numpy())
    workdir = project(tmp_path, table, "target")
    snakemake(workdir, *ARGS)  # a failed gate is an outcome, not an error
    decision = json.loads((workdir / "results" / "gate" / "decision.json").read_text())
    assert not decision["passed"]
    assert any("does not beat the naive rule (always the positive class" in reason for reason in decision["reasons"])
    assert not (workdir / "registry" / "models" / "judged" / "production.json").exists()
