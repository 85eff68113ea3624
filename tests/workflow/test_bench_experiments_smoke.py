"""The experiments benchmark keeps working: a tiny run of bench/experiments.py, no timing asserts."""

import json
import subprocess
import sys

import pytest

from tests.harness import ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

ROWS = 400
SEPARATE = 2


@pytest.fixture(scope="module")
def bench_results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("bench-experiments")
    output = scratch / "experiments.json"
    command = [sys.executable, str(ROOT / "bench" / "experiments.py"), "--rows", str(ROWS), "--counts", "0", "1", "3"]
    command += ["--separate", str(SEPARATE), "--repetitions", "1", "--rounds", "1", "--profile"]
    command += ["--scratch", str(scratch / "work"), "--output", str(output)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-6000:]
    return json.loads(output.read_text()), completed.stdout


def test_every_figure_is_measured(bench_results):
    results, _ = bench_results
    rows = {(row["figure"], row["experiments"]): row for row in results["table"]}
    expected = {("together_s", SEPARATE), ("separate_s", SEPARATE), ("version_s", None)}
    for count in (0, 1, 3):
        expected |= {("noop_s", count), ("dry_run_s", count), ("full_run_once_s", count)}
    assert expected == set(rows)
    for row in rows.values():
        assert row["min"] <= row["median"] <= row["max"]
        assert row["median"] > 0 and row["cpu_median"] > 0
        assert row["load"] is not None
    together = rows["together_s", SEPARATE]["ratios_to"][0]
    assert together["reference"] == f"{SEPARATE} separate runs of one experiment"
    assert together["ratio"] > 0 and together["cpu_ratio"] > 0
    # no-op and dry run of more experiments are shown against 1 experiment and against --version
    references = [r["reference"] for r in rows["noop_s", 3]["ratios_to"]]
    assert references == ["1 experiment(s)", "`snakemake --version`"]
    assert [r["reference"] for r in rows["dry_run_s", 1]["ratios_to"]] == ["`snakemake --version`"]


def test_the_runs_did_what_they_claim(bench_results):
    results, _ = bench_results
    [checks] = results["checks"]
    # in one DAG the data steps and linear's fit are done once; separately, once per run
    together, separate = checks["together_jobs"], checks["separate_jobs"]
    assert together["build_features"] == 1 and separate["build_features"] == SEPARATE
    assert together["tune_model"] == SEPARATE + 1 and separate["tune_model"] == 2 * SEPARATE
    assert together["compare_models"] == SEPARATE and together["compare_experiments"] == 1
    assert checks["same_comparisons"] is True
    # every no-op ran nothing
    noops = {name: detail for name, detail in results["commands"].items() if "-noop-" in name}
    assert len(noops) == 3 and all(detail["jobs"] == {} for detail in noops.values())


def test_the_profile_names_the_workflow_steps(bench_results):
    results, stdout = bench_results
    functions = results["profile"]["dry_run_n3"]["functions"]
    assert functions["each experiment's config: merged, checked, defaults filled"]["calls"] == 3
    assert functions["Snakemake: building the DAG"]["cumulative_s"] > 0
    assert "Where the planning time goes" in stdout
    assert "| full run, 2 experiments in one DAG |" in stdout
