"""The workflow used as a Snakemake module, the catalog's standardised usage: a user's own directory holds only a
config and a Snakefile that imports every rule from ours."""

import pytest
import yaml

from tests.harness import ROOT, planned_jobs, snakemake
from tests.workflow.small_runs import SMALL_CONFIG

pytestmark = pytest.mark.workflow

USER_SNAKEFILE = f"""\
configfile: "config/config.yaml"


module snaketrain:
    snakefile: "{ROOT / "workflow" / "Snakefile"}"
    config: config


use rule * from snaketrain
"""


def test_a_fresh_directory_runs_the_whole_pipeline_as_a_module(tmp_path):
    user = tmp_path / "my-project"
    (user / "config").mkdir(parents=True)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    small = yaml.safe_load(SMALL_CONFIG)  # the fast models of the small runs, merged key by key
    config["models"] = small["models"]
    config["tuning"].update(small["tuning"])
    config["estimators"] = small["estimators"]
    (user / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (user / "Snakefile").write_text(USER_SNAKEFILE)

    snakemake(user, "--cores", "2")

    # every output lands in the user's directory, from data to the production pointer and the report pages
    for path in (
        "resources/data/breast_cancer.parquet",
        "results/comparison/metrics.csv",
        "results/gate/decision.json",
        "results/deploy/receipt.json",
        "results/report/gate.html",
        "registry/models/breast_cancer/production.json",
        "logs/tune_model/random_forest.log",
    ):
        assert (user / path).is_file(), path
    assert not (user / "workflow").exists()
    assert planned_jobs(user) == {}
