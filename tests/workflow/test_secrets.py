"""Secrets come from environment variables and never reach an output: the database URL and the webhook
URL carry recognisable tokens, and every file the runs leave behind (logs, receipts, registry metadata,
alerts, Snakemake's own metadata) and everything printed is scanned for them."""

import json
import sqlite3

import pandas as pd
import pytest
from tests.harness import clone_run, snakemake
from tests.http_server import LoopbackServer, closed_port_url
from tests.workflow.small_runs import SMALL_ARGS, small_run

pytestmark = pytest.mark.workflow

DB_TOKEN = "dbpass-7f3a9c51"
HOOK_TOKEN = "hooktoken-e4b8d2c0"


@pytest.fixture
def webhook():
    with LoopbackServer() as server:
        yield server


def leaks(workdir, outputs):
    """(where, token) for every file, file name or printed output that holds a secret."""
    found = []
    for path in sorted(workdir.rglob("*")):
        for token in (DB_TOKEN, HOOK_TOKEN):
            if token in path.name:
                found.append((str(path), token))
            if path.is_file() and token.encode() in path.read_bytes():
                found.append((str(path), token))
    for number, text in enumerate(outputs):
        found.extend((f"output of run {number}", token) for token in (DB_TOKEN, HOOK_TOKEN) if token in text)
    return found


def test_database_and_webhook_urls_never_reach_an_output(tmp_path_factory, tmp_path, webhook):
    workdir = clone_run(small_run(tmp_path_factory), tmp_path / "project")
    database = tmp_path / f"db-{DB_TOKEN}" / "data.db"
    database.parent.mkdir()
    rows = pd.read_parquet(workdir / "resources/data/breast_cancer.parquet")
    with sqlite3.connect(database) as connection:
        rows.to_sql("samples", connection, index=False)
    env = {"SNAKETRAIN_DB_URL": f"sqlite:///{database}", "SNAKETRAIN_WEBHOOK_URL": webhook.url(f"/hooks/{HOOK_TOKEN}")}
    # not every row, so that the model differs from the clone's and gets a registry version of its own
    sql = 'data:\n  name: fromdb\n  source: sql\n  sql_query: "SELECT * FROM samples WHERE rowid % 10 != 0"\n'
    (workdir / "config/sql.yaml").write_text(sql)
    (workdir / "config/strict.yaml").write_text("gate:\n  thresholds:\n    f1: 1.0\n")
    (workdir / "config/bad_query.yaml").write_text(sql.replace("SELECT", "SELEC").replace("fromdb", "broken"))
    outputs = []

    # 1. data from the database; an unreachable gate, so the alert goes to the webhook
    run = snakemake(workdir, "--cores", "2", *SMALL_ARGS, "config/sql.yaml", "config/strict.yaml", env=env)
    outputs.append(run.stdout)
    assert len(webhook.requests) == 1
    assert webhook.requests[0].path == f"/hooks/{HOOK_TOKEN}"
    assert webhook.payloads[0]["event"] == "quality_gate_failed"
    assert "delivered to the webhook in SNAKETRAIN_WEBHOOK_URL" in (workdir / "logs/raise_alert/raise_alert.log").read_text()

    # 2. the normal gate: the model is registered, with its config, from the same database
    run = snakemake(workdir, "--cores", "2", *SMALL_ARGS, "config/sql.yaml", env=env)
    outputs.append(run.stdout)
    version = json.loads((workdir / "registry/models/fromdb/production.json").read_text())["version"]
    metadata = json.loads((workdir / "registry/models/fromdb/versions" / version / "metadata.json").read_text())
    assert metadata["config"]["data"]["source"] == "sql"
    assert metadata["config"]["data"]["sql_url_env"] == "SNAKETRAIN_DB_URL"

    # the passing run removed the failed gate's alert that the first run left
    assert not (workdir / "results/alerts/alert.json").exists()

    # 3. a webhook that cannot be reached: the failure is logged naming the variable, not the URL
    unreachable = closed_port_url(f"/hooks/{HOOK_TOKEN}")
    run = snakemake(
        workdir,
        "results/alerts/alert.json",
        "--cores",
        "1",
        *SMALL_ARGS,
        "config/sql.yaml",
        "config/strict.yaml",
        env={**env, "SNAKETRAIN_WEBHOOK_URL": unreachable},
    )
    outputs.append(run.stdout)
    log = (workdir / "logs/raise_alert/raise_alert.log").read_text()
    assert "could not deliver the alert to the webhook in SNAKETRAIN_WEBHOOK_URL" in log

    # 4. a bad query: the error shows the driver's message, never the connection URL
    run = snakemake(workdir, "--cores", "1", *SMALL_ARGS, "config/bad_query.yaml", env=env, check=False)
    outputs.append(run.stdout)
    assert run.returncode != 0
    assert "[acquire_data] the SQL query failed" in run.stdout

    assert (workdir / "logs/acquire_data/acquire_data.log").is_file()
    assert leaks(workdir, outputs) == []


def test_no_rule_hands_config_values_to_a_shell():
    # every rule runs Python (run: blocks), so no config value is ever interpolated into a shell command
    from tests.harness import ROOT

    rules = sorted((ROOT / "workflow").rglob("*.smk")) + [ROOT / "workflow" / "Snakefile"]
    assert len(rules) > 1
    for path in rules:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not line.strip().startswith(("shell:", "shell(")), f"{path.name}:{number}: {line.strip()}"
