"""The layout: every rule's files, with and without experiments, and the registered-name rule."""

from snaketrain.layout import OUTPUTS, Layout, registered_name


def test_without_experiments_paths_are_the_plain_layout():
    layout = Layout(dataset="churn")
    assert layout.output("quality_gate", "decision") == "results/gate/decision.json"
    assert layout.output("acquire_data", "data") == "resources/data/churn.parquet"
    assert layout.output("tune_model", "best_params") == "results/tuning/{model}/best_params.json"
    assert layout.log("tune_model") == "logs/tune_model/{model}.log"
    assert layout.benchmark("quality_gate") == "benchmarks/quality_gate/quality_gate.tsv"
    assert layout.log("check_drift") == "logs/check_drift/check_drift.log"


def test_with_experiments_each_scope_has_its_folder():
    layout = Layout(experiments=True)
    assert layout.output("quality_gate", "decision") == "results/{experiment}/gate/decision.json"
    assert layout.output("acquire_data", "data") == "resources/data/{dataset}.parquet"
    assert layout.log("acquire_data") == "logs/_shared/{dataset}/acquire_data/acquire_data.log"
    assert layout.output("validate_data", "report") == "results/_shared/data-{data}/validation/report.json"
    assert layout.output("split_data", "train") == "results/_shared/features-{features}/split/train.parquet"
    assert layout.log("train_model") == "logs/_shared/fit-{fit}/train_model/{model}.log"
    assert layout.output("deploy_model", "receipt") == "results/_deploy/{name}/deploy/receipt.json"
    assert layout.output("compare_experiments", "csv") == "results/experiments.csv"
    assert layout.experiment_file("raise_alert", "alert", "base") == "results/base/alerts/alert.json"


def test_every_output_of_one_rule_lives_in_one_scope_and_no_two_outputs_share_a_path():
    for experiments in (False, True):
        layout = Layout(experiments, dataset="d")
        paths = [path for rule in OUTPUTS for path in layout.outputs(rule).values()]
        assert len(paths) == len(set(paths))


def test_an_experiments_log_folders_are_its_own_then_the_shared_ones():
    keys = {"dataset": "iris", "data": "iris-1", "features": "iris-2", "fit": {"linear": "iris-3"}}
    assert Layout(experiments=True).log_folders("base", keys) == [
        "logs/base",
        "logs/_shared/iris",
        "logs/_shared/data-iris-1",
        "logs/_shared/features-iris-2",
        "logs/_shared/fit-iris-3",
    ]


def test_the_registered_name_is_model_name_else_data_name():
    assert registered_name({"registry": {"model_name": None}, "data": {"name": "churn"}}) == "churn"
    assert registered_name({"registry": {"model_name": "risk"}, "data": {"name": "churn"}}) == "risk"
    assert registered_name({"data": {"name": "churn"}}) == "churn"  # a config without registry keys (the service)
