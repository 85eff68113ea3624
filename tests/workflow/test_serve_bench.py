"""The serving benchmark runs end to end (tiny durations): three servers up per table, every request answered,
production moved under load without a failed request; a run of some tables keeps the others' results."""

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.harness import ROOT

pytestmark = pytest.mark.workflow
pytest.importorskip("mlflow", reason="the serving benchmark compares with MLflow (requirements-mlflow.txt)")
pytest.importorskip("uvicorn", reason="the service's requirements (requirements-serve.txt) are not installed")


def test_the_serving_benchmark_measures_all_three_servers(tmp_path):
    results = tmp_path / "results.json"
    command = [sys.executable, str(ROOT / "bench" / "serve.py"), "--seconds", "0.5", "--rounds", "1", "--clients", "2"]
    command += ["--no-readme", "--results", str(results), "--scratch", str(tmp_path / "scratch")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    measured = json.loads(results.read_text())
    boosted = {"mixed_xgboost": "xgboost", "mixed_lightgbm_regression": "lightgbm"}  # with make setup-boost
    assert set(measured["tables"]) == {
        "numeric",
        "mixed_forest",
        "mixed_hgb",
        "mixed_regression",
        "mixed_forest_regression",
        "users_dates_text",  # a date and free text: their features computed in Python around the graph
    } | {table for table, library in boosted.items() if importlib.util.find_spec(library)}
    for name, table in measured["tables"].items():
        assert table["in_process"]["engine"] == "onnxruntime", (name, table["in_process"]["engine_note"])
        for server in ("mlflow", "bare", "snaketrain"):
            for rows in ("1", "100"):
                cell = table["load"][server][rows]
                assert cell["requests"] > 0 and cell["failures"] == 0, (name, server, rows, cell)
    swap = measured["swap"]
    assert swap["moves"] == 4 and all(cell["failures"] == 0 and cell["requests"] for cell in swap["per_name"].values())
    assert "| `snaketrain-serve` (every check on) |" in run.stdout

    # one table again: it is replaced, the others and the swap are kept with the run that measured them
    command[command.index("--scratch") + 1] = str(tmp_path / "again")
    again = subprocess.run([*command, "--tables", "mixed_regression"], capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-4000:]
    merged = json.loads(results.read_text())
    assert set(merged["tables"]) == set(measured["tables"]) and merged["swap"] == swap
    for name, table in merged["tables"].items():
        assert (table == measured["tables"][name]) == (name != "mixed_regression"), name
    assert "**numeric**" in again.stdout and "**mixed_regression**" in again.stdout
