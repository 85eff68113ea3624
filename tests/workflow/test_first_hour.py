"""The first hour as a user (issue 33): results that stay true, files others can read, one clean message per error,
short dry-run reasons, a table and pages a person reads, and a DAG drawn on a fresh machine. One test per promise,
then the newcomer's whole path as one test that fails on any stack line or repeated message on the terminal.

Small runs throughout (one or two fast models, three folds, 200 rows of own data).
"""

import csv
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.harness import ROOT, checkout_env, clone_run, copy_project, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

SMALL = """\
models: [linear, random_forest]
estimators:
  random_forest:
    estimator: random_forest
    params: {n_estimators: 10}
    search_space:
      max_depth: [null, 4]
tuning:
  cv: 3
"""
ARGS = ("--cores", "2", "--configfile", "config/small.yaml")
# a gate that fails (a threshold no model meets) and a sweep over a value the base config already has (true)
EXPERIMENTS = """\
experiments:
  baseline: {}
  strict: {gate: {thresholds: {f1: 0.9999}}}
  strat: {sweep: {split.stratify: [true, false]}}
"""
OWN = "data: {name: own, source: file, path: data/own.csv, target: label}\n"
STACK_LINE = re.compile(r'^\s*File ".*", line \d+')


def assert_clean_terminal(out):
    """No Python stack line, no traceback, no Snakemake closing WorkflowError, and each stage message and each fix
    printed once."""
    lines = out.splitlines()
    assert not [line for line in lines if STACK_LINE.match(line)], out[-4000:]
    assert "Traceback" not in out, out[-4000:]
    assert "WorkflowError" not in out and "At least one job did not complete" not in out, out[-4000:]
    messages = Counter(
        line.strip() for line in lines if re.match(r"^\s*\[\w+\] ", line) or line.strip().startswith("fix: ")
    )
    assert all(count == 1 for count in messages.values()), [m for m, c in messages.items() if c > 1]


def own_table(rows=200, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows).round(4), "b": rng.normal(size=rows).round(4)})
    frame["city"] = rng.choice(["oslo", "lima", "pune"], size=rows)
    frame["label"] = ((frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.12, size=rows)) > 0).astype(int)
    return frame


def project_with(tmp_path, experiments=None, name="project"):
    workdir = copy_project(tmp_path / name)
    (workdir / "config" / "small.yaml").write_text(SMALL)
    if experiments:
        (workdir / "config" / "experiments.yaml").write_text(experiments)
    return workdir


def table_command(workdir, *args):
    """`snaketrain experiments` as a user runs it in the project."""
    env = {**os.environ, **checkout_env(workdir)}
    command = [sys.executable, "-m", "snaketrain.orchestration.cli", "experiments", *ARGS[2:], *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=True).stdout


def digests(workdir, *paths):
    return {p: hashlib.sha256((workdir / p).read_bytes()).hexdigest() for p in paths}


@contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture(scope="module")
def experiments_run(tmp_path_factory):
    workdir = project_with(tmp_path_factory.mktemp("first-hour"), EXPERIMENTS)
    result = snakemake(workdir, *ARGS)
    (workdir / "run.out").write_text(result.stdout)
    return workdir


# ---- 1. a failed or unrelated command never rewrites a results file with another run's data


def test_a_failed_predict_with_another_config_leaves_the_experiments_table(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "run")
    table = ("results/experiments.csv", "results/experiments.md", "results/report/experiments.html")
    before = digests(workdir, *table)
    (workdir / "data").mkdir()
    own_table().to_csv(workdir / "data" / "own.csv", index=False)
    (workdir / "data" / "new_bad.csv").write_text("x,y\n1,2\n")
    (workdir / "config" / "own.yaml").write_text(OWN)
    result = snakemake(
        workdir,
        "predict",
        "--cores",
        "1",
        "--configfile",
        "config/own.yaml",
        "--config",
        "predict={input: data/new_bad.csv}",
        check=False,
    )
    assert result.returncode != 0
    assert_clean_terminal(result.stdout)
    assert "snaketrain: experiments" not in result.stdout  # no table of a run that did not run the experiments
    assert digests(workdir, *table) == before
    assert planned_jobs(workdir, *ARGS) == {}


def test_a_failed_run_of_the_experiments_prints_their_state_and_writes_no_table(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "run")
    before = digests(workdir, "results/experiments.csv", "results/experiments.md")
    with open(workdir / "config" / "experiments.yaml", "a") as fh:
        fh.write("  broken: {models: [knn], estimators: {knn: {params: {n_neighbors: 2000}, search_space: {}}}}\n")
    result = snakemake(workdir, *ARGS, check=False)
    assert result.returncode != 0
    assert_clean_terminal(result.stdout)
    assert "not written: the run did not finish" in result.stdout and "why  failed at" in result.stdout
    assert digests(workdir, "results/experiments.csv", "results/experiments.md") == before


# ---- 2. every file snaketrain writes gets the mode the umask gives a new file


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_get_the_mode_the_umask_gives(tmp_path, mask):
    workdir = project_with(tmp_path)
    (workdir / "config" / "small.yaml").write_text(SMALL.replace("linear, random_forest", "linear"))
    with umask(mask):
        snakemake(workdir, *ARGS)
        test_part = pd.read_parquet(workdir / "results" / "split" / "test.parquet")
        test_part.drop(columns=["target"]).head(5).to_csv(workdir / "new.csv", index=False)
        snakemake(workdir, "predict", *ARGS, "--config", "predict={input: new.csv}")
    expected = 0o666 & ~mask
    checked = Counter()
    wrong = []
    for folder in ("results", "registry", "logs", "resources"):
        for path in (workdir / folder).rglob("*"):
            if path.is_file() and path.name != ".lock":
                checked[folder] += 1
                if stat.S_IMODE(path.stat().st_mode) != expected:
                    wrong.append(f"{oct(stat.S_IMODE(path.stat().st_mode))} {path.relative_to(workdir)}")
    assert not wrong, wrong
    assert all(checked[folder] for folder in ("results", "registry", "logs", "resources")), checked
    names = {p.name for p in (workdir / "registry").rglob("*")}
    assert {"production.json", "index.json", "history.jsonl", "metadata.json"} <= names
    assert list((workdir / "results" / "predictions").glob("*.parquet"))


# ---- 3. every error printed once, no stack line


def test_a_config_typo_is_one_message_without_a_stack_line(tmp_path):
    workdir = project_with(tmp_path)
    (workdir / "config" / "typo.yaml").write_text("data:\n  taget: label\n")
    result = snakemake(workdir, *ARGS, "--configfile", "config/typo.yaml", check=False)
    assert result.returncode != 0
    assert_clean_terminal(result.stdout)
    assert "[config] unknown config key data.taget" in result.stdout
    assert "common.smk" not in result.stdout


def test_a_stage_error_is_printed_once_with_its_log(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "run")
    (workdir / "config" / "experiments.yaml").unlink()
    (workdir / "config" / "target.yaml").write_text("data: {target: nope}\n")
    result = snakemake(workdir, *ARGS, "--configfile", "config/target.yaml", check=False)
    out = result.stdout
    assert result.returncode != 0
    assert_clean_terminal(out)
    assert out.count("set data.target to the column to predict") == 1
    summary = out[out.index("snaketrain: the run stopped. What went wrong:") :]
    assert "[validate_data]" in summary and "log: logs/validate_data/validate_data.log" in summary
    assert "snaketrain alert: run-failed alert written to logs/alerts/run_failed.json" in out


def test_predict_with_nothing_in_production_repeats_the_users_options(tmp_path):
    workdir = project_with(tmp_path)
    (workdir / "new.csv").write_text("a,b\n1,2\n")
    result = snakemake(workdir, "predict", *ARGS, "--config", "predict={input: new.csv}", check=False)
    out = result.stdout
    assert result.returncode != 0
    assert_clean_terminal(out)
    assert "[predict] no model is in production" in out
    assert "snakemake --cores 4 --configfile config/small.yaml --config 'predict={input: new.csv}'" in out
    assert "InputFunctionException" not in out


# ---- 4. dry-run reasons stay short


def test_a_changed_experiment_is_named_in_the_dry_run_not_every_config(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "added")
    with open(workdir / "config" / "experiments.yaml", "a") as fh:
        fh.write("  shallow: {estimators: {random_forest: {params: {n_estimators: 5}}}}\n")
    out = snakemake(workdir, "-n", *ARGS).stdout
    job = out[out.index("rule compare_experiments:") :]
    reason = next(line for line in job.splitlines() if line.strip().startswith("reason:"))
    params = reason[reason.index("Params have changed") :]
    assert "shallow: estimators.random_forest.params.n_estimators=5" in params
    assert len(params) < 300, params
    assert '"data":' not in reason and "selection" not in reason
    # and a change of the base config still reruns the table
    base = clone_run(experiments_run, tmp_path / "base")
    small = base / "config" / "small.yaml"
    small.write_text(small.read_text().replace("cv: 3", "cv: 4"))
    assert planned_jobs(base, *ARGS)["compare_experiments"] == 1


# ---- 5. the table of experiments is readable


def test_the_table_fits_names_its_metric_shows_what_was_set_and_why_a_gate_failed(experiments_run):
    text = table_command(experiments_run, "--width", "80")
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "test f1" in text and "model:linear" not in text
    assert "sets split.stratify=true" in text and "sets split.stratify=false" in text
    assert "resources.gpu" not in text
    assert "why  gate failed: f1 " in text and "misses >= 0.9999" in text
    with open(experiments_run / "results" / "experiments.csv", newline="") as fh:
        rows = {row["experiment"]: row for row in csv.DictReader(fh)}
    assert rows["strat-split_stratify-true"]["split.stratify"] == "true"
    assert rows["strict"]["status"].startswith("gate failed: f1 ") and rows["strict"]["version"] == "-"
    assert rows["baseline"]["metric"] == "f1"
    wide = table_command(experiments_run, "--all-params")
    assert "tuning.cv" in wide.splitlines()[0]
    page = (experiments_run / "results" / "report" / "experiments.html").read_text()
    assert "overflow-wrap: anywhere" in page and "split.stratify=false" in page and "<h1>Experiments</h1>" in page


# ---- 6. report pages belong to the run that made them


def test_report_pages_and_alerts_belong_to_the_run(experiments_run, tmp_path):
    workdir = clone_run(experiments_run, tmp_path / "own")
    (workdir / "config" / "experiments.yaml").unlink()
    (workdir / "data").mkdir()
    own_table().to_csv(workdir / "data" / "own.csv", index=False)
    (workdir / "config" / "own.yaml").write_text(OWN)
    (workdir / "config" / "strict.yaml").write_text("gate: {thresholds: {f1: 0.9999}}\n")
    # an own-data run whose gate fails: its pages replace the experiments' page; its alert is written
    out = snakemake(workdir, *ARGS, "--configfile", "config/own.yaml", "config/strict.yaml").stdout
    assert not (workdir / "results" / "report" / "experiments.html").exists()
    assert "removed" in out and "experiments.html" in out
    assert (workdir / "results" / "alerts" / "alert.json").is_file()
    # the same data with a gate it passes: the earlier failure's alert goes
    snakemake(workdir, *ARGS, "--configfile", "config/own.yaml")
    assert not (workdir / "results" / "alerts" / "alert.json").exists()
    history = (workdir / "results" / "report" / "history.html").read_text()
    assert "The plot under this table shows" in history and "data:image/png;base64," in history
    assert (workdir / "results" / "report" / "gate.html").is_file()


# ---- 7. the DAG on a fresh machine


def test_make_dag_works_without_graphviz_and_draws_with_it(tmp_path):
    workdir = project_with(tmp_path)
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, workdir / name)
    (workdir / "docs").mkdir()  # a clone's, where the rule graph is drawn
    venv = Path(sys.executable).parent.parent
    command = ["make", "dag", f"VENV={venv}", "-o", f"{venv}/.installed"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
    env.update(checkout_env(workdir))
    if shutil.which("dot") is None:
        result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=True)
        assert (workdir / "dag.dot").read_text().startswith("digraph")
        assert "flowchart" in (workdir / "dag.mmd").read_text() or "graph" in (workdir / "dag.mmd").read_text()
        assert "apt-get install graphviz" in result.stdout and not (workdir / "dag.svg").exists()
    # with Graphviz (here a stand-in `dot`) it draws the pictures too
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\ncase \"$*\" in *.dot) ;; *) cat > /dev/null ;; esac\necho '<svg/>'\n")
    (fake / "dot").chmod(0o755)
    env["PATH"] = f"{fake}:{env['PATH']}"
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=True)
    assert (workdir / "dag.svg").read_text().strip() == "<svg/>"
    assert "wrote dag.svg" in result.stdout


# ---- the newcomer's path, end to end


def test_the_first_hour_end_to_end(tmp_path):
    """Run, own data through an overlay, predict, experiments, the report, and two honest mistakes: every terminal
    output free of stack lines and repeated messages."""
    workdir = project_with(tmp_path)
    outputs = []

    def run(*args, ok=True):
        result = snakemake(workdir, *args, check=ok)
        assert_clean_terminal(result.stdout)
        outputs.append(result.stdout)
        return result.stdout

    # the pipeline
    assert "quality gate: PASSED" in run(*ARGS)
    # their own data: an overlay on the config
    (workdir / "data").mkdir()
    own_table().to_csv(workdir / "data" / "own.csv", index=False)
    own_table(40, seed=1).drop(columns=["label"]).to_csv(workdir / "data" / "new.csv", index=False)
    (workdir / "config" / "own.yaml").write_text(OWN + "predict: {input: data/new.csv}\n")
    own = (*ARGS, "--configfile", "config/own.yaml")
    assert "model name:   own" in run(*own)
    # predict with the production model of their data
    run("predict", *own)
    assert len(pd.read_parquet(workdir / "results" / "predictions" / "new.parquet")) == 40
    # experiments on their data
    (workdir / "config" / "experiments.yaml").write_text(
        "experiments:\n  base: {}\n  forest: {models: [random_forest]}\n"
    )
    out = run(*own)
    assert "snaketrain: experiments" in out and "test f1" in out
    assert (
        max(
            len(line)
            for line in table_command(workdir, "--configfile", "config/own.yaml", "--width", "90").splitlines()
        )
        <= 90
    )
    # the report
    run("--report", "report.html", *own)
    assert (workdir / "report.html").stat().st_size > 0
    # two honest mistakes: a typo in a key, and a target column that is not there
    (workdir / "config" / "typo.yaml").write_text("data:\n  taget: label\n")
    assert "did you mean data.target?" in run(*own, "--configfile", "config/typo.yaml", ok=False)
    (workdir / "config" / "experiments.yaml").unlink()
    (workdir / "config" / "target.yaml").write_text("data: {target: churned}\n")
    out = run(*own, "--configfile", "config/target.yaml", ok=False)
    assert out.count("[validate_data]") == 1 and "log: logs/validate_data/validate_data.log" in out
