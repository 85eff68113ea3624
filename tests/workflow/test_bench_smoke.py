"""The benchmark script keeps working: a tiny run of bench/run.py, one repetition, no timing asserts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

ROWS = 400


@pytest.fixture(scope="module")
def bench_results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("bench")
    output = scratch / "results.json"
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", str(ROWS), "--repetitions", "1"]
    command += ["--scratch", str(scratch / "work"), "--output", str(output)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-6000:]
    return json.loads(output.read_text()), completed.stdout, scratch / "work"


def test_results_name_the_machine_and_packages(bench_results):
    results, _, _ = bench_results
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["packages"]["snakemake"]
    assert results["machine"]["packages"]["scikit-learn"]
    assert results["repetitions"] == 1


def test_every_figure_is_measured_with_its_ratio(bench_results):
    results, _, _ = bench_results
    rows = {row["figure"]: row for row in results["table"]}
    expected = {
        "full_run_s",
        "baseline_s",
        "peak_rss_mb",
        "baseline_rss_mb",
        "noop_rerun_s",
        "dry_run_s",
        "incremental_s",
        "version_s",
        "floor_s",
        "bare_noop_s",
        "incremental_floor_s",
        "rerun_imports_s",
    }
    assert expected <= set(rows)
    for key in expected:
        row = rows[key]
        assert row["size"] == ROWS
        assert len(row["values"]) == 1
        assert row["min"] <= row["median"] <= row["max"]
        assert row["median"] > 0
    floor = "the floor (bare `snakemake --version`)"
    for key, reference in (("full_run_s", "baseline"), ("noop_rerun_s", floor), ("dry_run_s", floor)):
        assert rows[key]["reference"] == reference
        assert rows[key]["ratio"] > 0
    # no-op and dry run are also shown against the project's own --version, which is itself shown against the floor,
    # and the no-op against the no-op of a one-rule workflow in Snakemake alone
    bare_noop = "a one-rule workflow's no-op, Snakemake alone"
    assert [r["reference"] for r in rows["noop_rerun_s"]["ratios_to"]] == [floor, "`snakemake --version`", bare_noop]
    assert [r["reference"] for r in rows["dry_run_s"]["ratios_to"]] == [floor, "`snakemake --version`"]
    assert rows["version_s"]["reference"] == floor
    assert rows["bare_noop_s"]["reference"] == floor
    # an incremental rerun is shown against the full run and against its floor (no-op + the libraries its jobs load)
    assert [r["reference"] for r in rows["incremental_s"]["ratios_to"]] == ["full run", "its floor"]
    floor_row = rows["incremental_floor_s"]
    assert floor_row["median"] == pytest.approx(rows["noop_rerun_s"]["median"] + rows["rerun_imports_s"]["median"], abs=1e-3)


def test_the_floor_is_snakemake_alone_at_the_pinned_version(bench_results):
    results, _, _ = bench_results
    floor = Path(results["machine"]["floor_python"])
    listed = subprocess.run([str(floor), "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    installed = {package["name"].lower(): package["version"] for package in json.loads(listed.stdout)}
    assert installed["snakemake"] == results["machine"]["packages"]["snakemake"]
    assert not [name for name in installed if "-plugin-" in name]
    assert "scikit-learn" not in installed and "pandas" not in installed


def test_the_runs_did_what_they_claim(bench_results):
    results, _, work = bench_results
    details = results["sizes"][str(ROWS)]["details"][0]
    # the full run ran every stage once per model; the no-op ran nothing; the incremental only one model's branch
    full = details["full_run"]["jobs"]
    assert full["tune_model"] == full["train_model"] == full["evaluate_model"] == 3
    assert full["acquire_data"] == 1
    assert details["noop_rerun"]["jobs"] == {}
    incremental = details["incremental"]["jobs"]
    assert incremental["tune_model"] == 1 and "acquire_data" not in incremental
    # the benchmark's small search spaces are the ones used (2 candidates per model, not the default's)
    for side in ("workflow", "baseline"):
        for model in ("logistic_regression", "random_forest", "hist_gradient_boosting"):
            tuned = work / f"rows{ROWS}" / "rep0" / side / "results" / "tuning" / model / "best_params.json"
            assert json.loads(tuned.read_text())["candidates"] == 2, (side, model)
    # workflow and baseline call the same stage functions and end with the same comparison table
    assert details["same_metrics"] is True
    assert (work / f"rows{ROWS}" / "rep0" / "workflow" / "results" / "deploy" / "receipt.json").is_file()
    # the benchmark's data is named bench: its registered model name
    assert (work / f"rows{ROWS}" / "rep0" / "baseline" / "registry" / "models" / "bench" / "production.json").is_file()


def test_prints_the_markdown_table(bench_results):
    _, stdout, _ = bench_results
    assert "| rows | figure | median | min | max |" in stdout
    assert "full run from scratch" in stdout
