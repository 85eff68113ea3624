"""An error no stage foresaw (a library's exception) reaches the user as the stage's explanation, never as a
Python traceback: each stage in turn raises one (the SNAKETRAIN_FAULT_AT test hook) in a real run.
"""

import pytest
from tests.harness import clone_run, snakemake
from tests.workflow.small_runs import SMALL_ARGS, small_run
from tests.workflow.test_bad_input import registry_state

pytestmark = pytest.mark.workflow

# (rule, what to ask snakemake for so that only that rule's job runs)
STAGES = [
    ("acquire_data", "resources/data/breast_cancer.parquet"),
    ("validate_data", "results/validation/report.json"),
    ("split_data", "results/split/train.parquet"),
    ("build_features", "results/features/schema.json"),
    ("tune_model", "results/tuning/logistic_regression/best_params.json"),
    ("train_model", "results/models/logistic_regression.joblib"),
    ("evaluate_model", "results/evaluation/logistic_regression/metrics.json"),
    ("compare_models", "results/comparison/best.json"),
    ("quality_gate", "results/gate/decision.json"),
    ("register_model", "results/registry/receipt.json"),
    ("deploy_model", "results/deploy/receipt.json"),
    ("raise_alert", "results/alerts/alert.json"),
    ("summarize_run", "results/report/gate.html"),
    ("predict", "predict"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return small_run(tmp_path_factory)


@pytest.mark.parametrize(("rule", "target"), STAGES, ids=[s[0] for s in STAGES])
def test_an_unexpected_error_in_any_stage_is_explained_without_a_traceback(finished, tmp_path, rule, target):
    workdir = clone_run(finished, tmp_path / "run")
    extra = ()
    if rule == "predict":
        (workdir / "new.csv").write_text("a,b\n1,2\n")
        (workdir / "config" / "predict.yaml").write_text("predict:\n  input: new.csv\n")
        extra = ("--configfile", "config/predict.yaml")
    before = registry_state(workdir)
    result = snakemake(
        workdir,
        target,
        "--cores",
        "1",
        "--forcerun",
        rule,
        *SMALL_ARGS,
        *extra,
        env={"SNAKETRAIN_FAULT_AT": rule},
        check=False,
    )
    out = result.stdout
    assert result.returncode != 0, out[-3000:]
    message = f"[{rule}] unexpected ValueError: fault injected by SNAKETRAIN_FAULT_AT={rule}"
    assert message in out, out[-4000:]
    log = workdir / "logs" / rule
    traceback_file = next(log.glob("*.traceback.txt"))
    assert f"the full traceback is in {traceback_file.relative_to(workdir)}" in out
    assert "Traceback (most recent call last)" in traceback_file.read_text()
    assert "Traceback (most recent call last)" not in out
    # the onerror summary repeats it like any stage's explanation, with the fix
    summary = out[out.index("snaketrain: the run stopped. What went wrong:") :]
    assert message in summary
    assert "fix: " in summary
    assert registry_state(workdir) == before
