"""Bad data, bad config and bad prediction input: the user reads which stage, what is wrong, where and how
to fix it (no Python traceback first), and the registry and its production pointer stay as they were.

Every case branches off the finished default run, so the registry holds a production model to protect.
"""

import hashlib
import sqlite3

import numpy as np
import pandas as pd
import pytest
from tests.harness import clone_run, snakemake
from tests.http_server import LoopbackServer, closed_port_url

pytestmark = pytest.mark.workflow

ROWS = 100


def registry_state(workdir):
    """sha256 of every file in the registry (the lock file aside): what must not change."""
    root = workdir / "registry"
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


@pytest.fixture
def branch(default_run, tmp_path):
    workdir = clone_run(default_run, tmp_path / "run")
    (workdir / "data").mkdir()
    return workdir


def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=ROWS).round(4),
            "b": rng.normal(size=ROWS).round(4),
            "target": np.arange(ROWS) % 2,
        }
    )


def run_failing(workdir, overlay, *targets, env=None):
    """Run with an overlay config that must fail; check the registry is untouched; return the output."""
    (workdir / "config" / "bad.yaml").write_text(overlay)
    before = registry_state(workdir)
    assert "models/breast_cancer/production.json" in before
    result = snakemake(workdir, *targets, "--cores", "2", "--configfile", "config/bad.yaml", env=env, check=False)
    assert result.returncode != 0, result.stdout[-3000:]
    assert registry_state(workdir) == before
    return result.stdout


def assert_explained(out, stage, *phrases):
    """The message names the stage and carries every phrase and a fix; no traceback comes before it."""
    assert f"[{stage}] " in out, out[-4000:]
    for phrase in phrases:
        assert phrase in out, f"{phrase!r} not in:\n{out[-4000:]}"
    message = out.index(f"[{stage}] ")
    assert "fix: " in out[message:]
    assert "Traceback (most recent call last)" not in out
    frames = [i for i in range(len(out)) if out.startswith('  File "', i)]
    assert not frames or frames[0] > message, "a traceback line comes before the message"


def data_overlay(path, **extra):
    settings = {"name": "userdata", "source": "file", "path": path, **extra}
    return "data:\n" + "".join(f"  {key}: {value}\n" for key, value in settings.items())


def write_csv(df, path, **kwargs):
    df.to_csv(path, index=False, **kwargs)


# (case id, writes data/<file>, the file name, overlay extras, stage, phrases the user must read)
DATA_CASES = [
    ("missing file", None, "nope.csv", {}, "acquire_data", ["data file 'data/nope.csv' does not exist", "data.path"]),
    ("empty file", lambda p: p.write_text(""), "x.csv", {}, "acquire_data", ["the data file is empty"]),
    (
        "header only",
        lambda p: p.write_text("a,b,target\n"),
        "x.csv",
        {},
        "acquire_data",
        ["has a header (3 columns) but no rows", "where: data/x.csv"],
    ),
    (
        "wrong delimiter",
        lambda p: write_csv(frame(), p, sep=";"),
        "x.csv",
        {},
        "acquire_data",
        ["delimited by ';', not ','", 'set data.delimiter: ";"'],
    ),
    (
        "target column missing",
        lambda p: write_csv(frame().rename(columns={"target": "targte"}), p),
        "x.csv",
        {},
        "validate_data",
        ["target_present column 'target'", "closest columns: targte", "set data.target"],
    ),
    (
        "target all missing",
        lambda p: write_csv(frame().assign(target=np.nan), p),
        "x.csv",
        {},
        "validate_data",
        ["min_rows: value 0, threshold 50", "rows with a target: 0 of 100", "target_not_constant"],
    ),
    (
        "single class",
        lambda p: write_csv(frame().assign(target=1), p),
        "x.csv",
        {},
        "validate_data",
        ["target_not_constant column 'target': value 1, threshold 2", "at least two distinct values"],
    ),
    (
        "numeric column with stray strings",
        lambda p: write_csv(frame().astype({"a": object}).assign(a=lambda d: d["a"].where(d.index != 7, "n/a?")), p),
        "x.csv",
        {},
        "validate_data",
        ["numeric_with_text column 'a'", "holds non-numeric value 'n/a?' (row index 7)", "correct or blank"],
    ),
    (
        "duplicate column names",
        lambda p: p.write_text("a,a,target\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(ROWS))),
        "x.csv",
        {},
        "acquire_data",
        ["duplicate column names: a", "give every column a distinct name"],
    ),
    (
        "not UTF-8",
        lambda p: p.write_bytes(("a,b,target\n" + "".join(f"{i},café,{i % 2}\n" for i in range(ROWS))).encode("latin-1")),
        "x.csv",
        {},
        "acquire_data",
        ["the file is not valid utf-8 text", "set data.encoding"],
    ),
    (
        "parquet that is really CSV",
        lambda p: write_csv(frame(), p),
        "x.parquet",
        {},
        "acquire_data",
        ["is not a Parquet file", "set data.format: csv"],
    ),
]


@pytest.mark.parametrize(
    ("writer", "name", "extra", "stage", "phrases"),
    [case[1:] for case in DATA_CASES],
    ids=[case[0] for case in DATA_CASES],
)
def test_bad_data_is_explained_and_nothing_is_lost(branch, writer, name, extra, stage, phrases):
    if writer:
        writer(branch / "data" / name)
    out = run_failing(branch, data_overlay(f"data/{name}", **extra))
    assert_explained(out, stage, *phrases)
    # the failed stage's explanation is also the last thing on screen
    assert "snaketrain: the run stopped. What went wrong:" in out
    assert out.rindex(f"[{stage}] ") > out.rindex("Exiting because a job execution failed")


def test_a_column_entirely_missing_stops_the_run_when_sparse_columns_are_to_fail(branch):
    # by default it is left out of the features and named (a warning): test_users_tables
    write_csv(frame().assign(notes=np.nan), branch / "data" / "x.csv")
    out = run_failing(branch, data_overlay("data/x.csv") + "validation: {sparse_columns: fail}\n")
    assert_explained(out, "validate_data", "empty_column column 'notes': value 1.0", "features.drop")


def test_an_identifier_stops_the_run_when_identifiers_are_to_fail(branch):
    write_csv(frame().assign(customer=[f"cust-{i:04d}" for i in range(ROWS)]), branch / "data" / "x.csv")
    out = run_failing(branch, data_overlay("data/x.csv") + "validation: {high_cardinality: fail}\n")
    assert_explained(
        out, "validate_data", "identifier column 'customer'", "100 distinct values in 100 rows: about one per row", "features.drop"
    )


def test_url_that_answers_503_is_retried_then_explained(branch):
    with LoopbackServer(default=(503, "")) as server:
        out = run_failing(branch, url_overlay(server.url("/data.csv")))
    assert_explained(out, "acquire_data", "the server answered HTTP 503 for the data URL")
    # download_retries: 2 attempts per job, and Snakemake runs the job twice (retries: 1 in the rule)
    assert len(server.requests) == 4


def url_overlay(url):
    return f"data:\n  name: userdata\n  source: url\n  url: {url}\n  download_retries: 2\n"


def test_url_that_answers_404(branch):
    with LoopbackServer(default=(404, "")) as server:
        out = run_failing(branch, url_overlay(server.url("/data.csv")))
    assert_explained(out, "acquire_data", "the server answered HTTP 404 for the data URL", "check data.url")


def test_url_that_refuses_connections(branch):
    url = closed_port_url("/data.csv")
    out = run_failing(branch, url_overlay(url))
    assert_explained(out, "acquire_data", "could not reach the data URL after 2 attempts (ConnectionError)", url)


def sql_overlay(query):
    return f'data:\n  name: userdata\n  source: sql\n  sql_query: "{query}"\n'


def test_sql_with_a_bad_query(branch, tmp_path):
    database = tmp_path / "data.db"
    with sqlite3.connect(database) as connection:
        frame().to_sql("samples", connection, index=False)
    out = run_failing(
        branch, sql_overlay("SELEC * FROM samples"), env={"SNAKETRAIN_DB_URL": f"sqlite:///{database}"}
    )
    assert_explained(out, "acquire_data", "the SQL query failed", "syntax error", "where: data.sql_query")


def test_sql_with_the_connection_variable_unset(branch):
    out = run_failing(branch, sql_overlay("SELECT * FROM samples"))
    assert_explained(
        out,
        "acquire_data",
        "the environment variable SNAKETRAIN_DB_URL that should hold the database URL is not set",
        "export SNAKETRAIN_DB_URL=",
    )


CONFIG_CASES = [
    ("unknown key", "data:\n  targte: label\n", ["unknown config key data.targte", "did you mean data.target?"]),
    (
        "wrong type",
        "split:\n  test_size: a fifth\n",
        ["split.test_size is 'a fifth', but must be a number", "where: config key split.test_size"],
    ),
    (
        "negative threshold",
        "gate:\n  thresholds:\n    f1: -0.5\n",
        ["gate.thresholds.f1 is -0.5, out of range: it must be >= 0"],
    ),
    (
        "threshold above 1",
        "gate:\n  thresholds:\n    accuracy: 1.5\n",
        ["gate.thresholds.accuracy is 1.5, out of range: it must be <= 1"],
    ),
    (
        "unknown estimator",
        "models: [magic]\nestimators:\n  magic:\n    estimator: magic_forest\n",
        ["unknown estimator 'magic_forest' for model 'magic'", "where: estimators.magic.estimator"],
    ),
    (
        "unknown estimator parameter",
        "models: [random_forest]\nestimators:\n  random_forest:\n    params: {n_trees: 5}\n",
        ["RandomForestClassifier has no parameter 'n_trees'", "where: estimators.random_forest.params", "n_estimators"],
    ),
    ("empty model list", "models: []\n", ["models is empty: there is nothing to train", "where: config key models"]),
    (
        "model name unsafe in a path",
        "models: ['../escape']\n",
        ["models[0] is '../escape', which is not a safe name", "may not contain '/'"],
    ),
    (
        "estimator name unsafe in a path",
        "estimators:\n  'a b/c':\n    estimator: ridge\n",
        ["estimators has a key 'a b/c' that is not a safe name"],
    ),
    (
        "dataset name unsafe in a path",
        "data:\n  name: ../../outside\n",
        ["data.name is '../../outside', which is not a safe name"],
    ),
    ("model not in the catalogue", "models: [rigde]\n", ["models lists rigde, which is neither a family of the catalogue nor defined under `estimators`", "did you mean ridge?"]),
]


@pytest.mark.parametrize(("overlay", "phrases"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_is_explained_and_nothing_is_lost(branch, overlay, phrases):
    out = run_failing(branch, overlay)
    assert_explained(out, "config", *phrases)
    assert "config/bad.yaml" in out or "estimators." in out
    # nothing ran: no job started before the config was refused
    assert "Finished jobid" not in out


@pytest.fixture
def to_score(branch):
    """Rows like the training data (without the target), as a CSV file, and its overlay config."""
    rows = pd.read_parquet(branch / "resources/data/breast_cancer.parquet").drop(columns=["target"]).head(20)
    (branch / "config" / "predict.yaml").write_text("predict:\n  input: data/new.csv\n")
    return rows


def test_prediction_input_with_missing_columns(branch, to_score):
    write_csv(to_score.drop(columns=["mean radius", "worst area"]), branch / "data/new.csv")
    out = run_failing(branch, "predict:\n  input: data/new.csv\n", "predict")
    assert_explained(
        out, "predict", "the input lacks 2 column(s) the model needs: mean radius, worst area", "predict.input"
    )
    assert not (branch / "results/predictions/new.parquet").exists()


def test_prediction_input_with_wrong_dtypes(branch, to_score):
    rows = to_score.astype({"mean texture": object})
    rows.loc[3, "mean texture"] = "high"
    write_csv(rows, branch / "data/new.csv")
    out = run_failing(branch, "predict:\n  input: data/new.csv\n", "predict")
    assert_explained(
        out, "predict", "column 'mean texture' must be numeric but holds 'high' (row 3)", "where: predict.input (data/new.csv), column mean texture"
    )
    assert not (branch / "results/predictions/new.parquet").exists()


def test_prediction_input_with_extra_columns_is_scored_and_the_extras_named(branch, to_score):
    write_csv(to_score.assign(customer_note="vip"), branch / "data/new.csv")
    before = registry_state(branch)
    snakemake(branch, "predict", "--cores", "1", "--configfile", "config/predict.yaml")
    assert registry_state(branch) == before
    scored = pd.read_parquet(branch / "results/predictions/new.parquet")
    assert len(scored) == 20
    assert "prediction" in scored.columns
    log = (branch / "logs/predict/predict.log").read_text()
    assert "ignoring 1 column(s) the model does not use: customer_note" in log


def test_prediction_without_an_input_file_configured(branch):
    out = run_failing(branch, "predict:\n  input: null\n", "predict")
    assert_explained(out, "predict", "no file to score", "where: config key predict.input")


def test_prediction_without_a_production_model(branch, to_score):
    write_csv(to_score, branch / "data/new.csv")
    out = run_failing(branch, "predict:\n  input: data/new.csv\nregistry:\n  path: empty-registry\n", "predict")
    assert_explained(out, "predict", "no model is in production in the registry 'empty-registry'", "passes the quality gate")
