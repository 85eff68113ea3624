"""Real tables' shapes (issue 32): a sparse column whose missing values mean something is kept and marked, not
refused; a column without any value is left out and named; rows without a target are counted; an integer
regression target (whole-dollar prices) stays continuous, so the target encoder writes one column per code, not
one per price; a zip code written as a number is encoded as a code too."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.harness import copy_project, snakemake

pytestmark = pytest.mark.workflow

OVERLAY = """\
data: {name: houses, source: file, path: data/houses.csv, target: price}
models: [linear]
tuning: {cv: 3}
gate: {thresholds: {r2: 0.3}}
"""


def houses(n=600, seed=0):
    """Whole-dollar prices; a city with 30 values (target-encoded); zip codes as numbers, each with its own premium
    (so they act as codes); months since the last flood, missing for 70 % of the houses (never flooded, which
    lowers the price); a column never filled in."""
    rng = np.random.default_rng(seed)
    sqft = rng.integers(500, 4000, n)
    city = rng.choice([f"town{i}" for i in range(30)], n)
    zip_codes = rng.choice(np.arange(1000, 99999), 40, replace=False)
    premium = dict(zip(zip_codes, rng.integers(0, 500_000, 40), strict=True))
    zips = rng.choice(zip_codes, n)
    flooded = rng.random(n) < 0.3
    months = np.where(flooded, rng.integers(1, 120, n), np.nan)
    price = 150 * sqft + 40_000 * flooded * -1 + rng.integers(0, 20_000, n) + 100_000 + np.vectorize(premium.get)(zips)
    df = pd.DataFrame(
        {"sqft": sqft, "city": city, "zip": zips, "months_since_flood": months, "never_filled": np.nan, "price": price}
    )
    df.loc[:9, "price"] = np.nan  # ten rows without a target
    return df


def test_sparse_columns_are_kept_and_an_integer_price_stays_a_regression_target(tmp_path):
    workdir = copy_project(tmp_path / "project")
    (workdir / "data").mkdir()
    houses().to_csv(workdir / "data" / "houses.csv", index=False)
    (workdir / "config" / "houses.yaml").write_text(OVERLAY)
    snakemake(workdir, "--cores", "2", "--configfile", "config/houses.yaml")

    report = json.loads((workdir / "results" / "validation" / "report.json").read_text())
    assert report["task"] == "regression" and report["rows_without_target"] == 10
    checks = {(c["check"], c["column"]): c for c in report["checks"]}
    assert checks["max_missing_fraction", "months_since_flood"]["verdict"] == "warn"
    assert checks["empty_column", "never_filled"]["verdict"] == "warn"
    assert checks["min_rows", None]["value"] == 590
    assert checks["target_missing", "price"]["value"] == 10

    schema = json.loads((workdir / "results" / "features" / "schema.json").read_text())
    assert "missingindicator_months_since_flood" in schema["features_out"]
    assert "never_filled" in schema["left_out"] and "never_filled" not in schema["columns"]
    assert schema["kinds"]["zip"]["kind"] == "integer_code" and "code__zip" in schema["features_out"]
    # one column for the city and one for the zip code, not one per distinct price
    assert len(schema["features_out"]) == 6, schema["features_out"]

    page = (workdir / "results" / "report" / "validation.html").read_text()
    assert "<b>10</b> row(s) without a target" in page
    assert (workdir / "registry" / "models" / "houses" / "production.json").exists()
