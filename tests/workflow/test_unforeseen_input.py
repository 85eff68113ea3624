"""Input of kinds users have that no check foresaw at first (issue 14): compressed files, infinite numbers,
splits the data cannot fill, labels that differ only by spaces or case, a YAML syntax error in an overlay.
Each is read, or explained naming the stage, the cause, the config key and the fix; the registry keeps its
bytes either way.
"""

import bz2
import gzip
import http.server
import json
import lzma
import threading
import zipfile

import numpy as np
import pandas as pd
import pytest
import zstandard
from tests.harness import snakemake
from tests.http_server import LoopbackServer
from tests.tables import COMPRESSORS
from tests.workflow.test_bad_input import (  # noqa: F401 - branch is a fixture
    assert_explained,
    branch,
    data_overlay,
    frame,
    registry_state,
    run_failing,
)

pytestmark = pytest.mark.workflow


def csv_bytes(df):
    return df.to_csv(index=False).encode()


def run_ok(workdir, overlay, *targets):
    """Run with an overlay that must succeed; the registry keeps its bytes; returns the output."""
    (workdir / "config" / "user.yaml").write_text(overlay)
    before = registry_state(workdir)
    result = snakemake(workdir, *targets, "--cores", "2", "--configfile", "config/user.yaml")
    assert registry_state(workdir) == before
    return result.stdout


ACQUIRED = "resources/data/userdata.parquet"


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_a_compressed_csv_is_read(branch, suffix):
    name = f"data/x.csv.{suffix}"
    (branch / name).write_bytes(COMPRESSORS[suffix](csv_bytes(frame())))
    run_ok(branch, data_overlay(name), ACQUIRED)
    pd.testing.assert_frame_equal(pd.read_parquet(branch / ACQUIRED), frame())


def test_a_compressed_file_whose_name_hides_it_is_read_not_blamed_on_the_encoding(branch):
    (branch / "data/x.csv").write_bytes(gzip.compress(csv_bytes(frame())))
    out = run_ok(branch, data_overlay("data/x.csv"), ACQUIRED)
    assert "utf-8" not in out
    pd.testing.assert_frame_equal(pd.read_parquet(branch / ACQUIRED), frame())


def test_a_file_named_compressed_that_is_not(branch):
    (branch / "data/x.csv.gz").write_bytes(csv_bytes(frame()))
    out = run_failing(branch, data_overlay("data/x.csv.gz"))
    assert_explained(out, "acquire_data", "the file's name says it is gzip-compressed, but its content is not")
    assert "encoding" not in out[out.index("[acquire_data] ") :]


@pytest.fixture
def gzip_server():
    with LoopbackServer(default=(200, gzip.compress(csv_bytes(frame())))) as server:
        yield server.url("/data.csv.gz?version=2")


def test_a_compressed_csv_from_a_url_is_read(branch, gzip_server):
    run_ok(branch, f"data:\n  name: userdata\n  source: url\n  url: '{gzip_server}'\n", ACQUIRED)
    pd.testing.assert_frame_equal(pd.read_parquet(branch / ACQUIRED), frame())


def with_infinities(path):
    df = frame()
    df.loc[[3, 17], "a"] = [np.inf, -np.inf]
    df.to_csv(path, index=False)


def test_infinite_values_fail_validation_naming_column_and_rows(branch):
    with_infinities(branch / "data/x.csv")
    out = run_failing(branch, data_overlay("data/x.csv"))
    assert_explained(
        out,
        "validate_data",
        "infinite_values column 'a': value 2, threshold 0",
        "2 infinite value(s) (inf or -inf) at row index 3, 17",
        "validation.infinite: missing",
    )


def test_infinite_values_can_be_treated_as_missing(branch):
    with_infinities(branch / "data/x.csv")
    overlay = data_overlay("data/x.csv") + "validation:\n  infinite: missing\n"
    run_ok(branch, overlay, "results/features/schema.json")
    report = json.loads((branch / "results/validation/report.json").read_text())
    check = next(c for c in report["checks"] if c["check"] == "infinite_values" and c["column"] == "a")
    assert check["verdict"] == "warn"
    assert "treated as missing" in check["detail"]
    features = pd.read_parquet(branch / "results/features/train.parquet")
    assert np.isfinite(features.drop(columns=["target"]).to_numpy()).all()


def test_a_test_size_that_leaves_no_training_rows(branch):
    out = run_failing(branch, "split:\n  test_size: 0.999\n")
    assert_explained(
        out,
        "split_data",
        "split.test_size 0.999 on 569 rows gives 0 training and 569 test rows",
        "this data allows split.test_size from 0.0036 to 0.9964",
        "where: config key split.test_size",
    )


def test_a_stratified_test_split_too_small_for_every_class(branch):
    out = run_failing(branch, "split:\n  test_size: 0.001\n")
    assert_explained(
        out,
        "split_data",
        "gives 568 training and 1 test rows",
        "at least 2 rows each (one per class: the split is stratified)",
        "or split.stratify: false",
    )


def test_more_folds_than_training_rows_of_the_smallest_class(branch):
    df = frame().assign(target=[1] * 6 + [0] * 94)
    df.to_csv(branch / "data/x.csv", index=False)
    overlay = data_overlay("data/x.csv") + "models: [logistic_regression]\ntuning:\n  cv: 8\n"
    out = run_failing(branch, overlay, "results/tuning/logistic_regression/best_params.json")
    assert_explained(
        out,
        "tune_model",
        "tuning.cv is 8, but there are only 5 training rows of class 1",
        "set tuning.cv to at most 5",
        "where: config key tuning.cv",
    )


def penguins():
    df = frame()
    df["island"] = np.where(df.index % 3 == 0, "Biscoe", np.where(df.index % 3 == 1, "biscoe", "Dream"))
    df["target"] = np.where(df.index % 4 == 0, "Adelie ", np.where(df.index % 2, "Adelie", "Gentoo"))
    return df


def test_labels_that_differ_only_by_spaces_or_case_are_reported(branch):
    penguins().to_csv(branch / "data/x.csv", index=False)
    run_ok(branch, data_overlay("data/x.csv"), "results/validation/report.json")
    report = json.loads((branch / "results/validation/report.json").read_text())
    similar = {c["column"]: c for c in report["checks"] if c["check"] == "similar_values"}
    assert similar["target"]["verdict"] == "warn"
    assert "'Adelie' and 'Adelie '" in similar["target"]["detail"]
    assert similar["island"]["verdict"] == "warn"
    assert "'Biscoe' and 'biscoe'" in similar["island"]["detail"]
    log = (branch / "logs/validate_data/validate_data.log").read_text()
    assert "check similar_values column target" in log


def test_labels_that_differ_only_by_spaces_or_case_can_fail_the_run(branch):
    penguins().to_csv(branch / "data/x.csv", index=False)
    out = run_failing(branch, data_overlay("data/x.csv") + "validation:\n  similar_values: fail\n")
    assert_explained(
        out,
        "validate_data",
        "similar_values column 'target'",
        "values that differ only by surrounding spaces or case: 'Adelie' and 'Adelie '",
        "similar_values column 'island'",
    )


def test_a_yaml_syntax_error_in_an_overlay_names_file_line_and_column(branch):
    out = run_failing(branch, "data:\n  name: userdata\n  source: file\n   path: data/x.csv\n")
    assert_explained(
        out,
        "config",
        "config/bad.yaml is not valid YAML: mapping values are not allowed here at line 4, column 8",
        "where: config/bad.yaml, line 4, column 8",
    )
    assert "Config file is not valid JSON or YAML" not in out
