"""tuning.method: halving runs in the workflow: successive halving, logged by round, results in the usual files."""

import json

import pytest

from tests.harness import snakemake

pytestmark = pytest.mark.workflow

TARGET = "results/tuning/linear/best_params.json"


def test_halving_tunes_in_rounds(project):
    config = project / "config" / "halving.yaml"
    config.write_text(
        "models: [linear]\n"
        "tuning: {method: halving, halving_factor: 2, cv: 3}\n"
        "estimators:\n"
        "  linear:\n"
        "    search_space: {C: [0.01, 0.1, 1.0, 10.0]}\n"
    )
    snakemake(project, "--cores", "2", TARGET, "--configfile", "config/halving.yaml")
    tuned = json.loads((project / TARGET).read_text())
    assert tuned["best_params"]["C"] in (0.01, 0.1, 1.0, 10.0)
    log = (project / "logs" / "tune_model" / "linear.log").read_text()
    assert "halving search" in log and "each candidate scored by 3-fold cross-validation" in log
    # 4 candidates, factor 2: 4, then 2, then 1, each round on twice the rows
    for done in (1, 2, 3):
        assert f"tuning linear: {done} of 3 halving rounds done" in log
    cv_results = (project / "results" / "tuning" / "linear" / "cv_results.csv").read_text()
    assert "n_resources" in cv_results.splitlines()[0]


def test_an_unknown_method_is_a_config_error_naming_the_choices(project):
    result = snakemake(project, "-n", "--config", "tuning={method: bisect}", check=False)
    assert result.returncode != 0
    assert "tuning.method" in result.stdout and "halving" in result.stdout
