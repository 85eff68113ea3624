"""The acquire_data stage: built-in datasets, files, a url on a real loopback HTTP server, a real SQLite database."""

import sqlite3

import pandas as pd
import pytest

from snaketrain.stage_log import StageError
from snaketrain.stages.acquire_data import acquire
from snaketrain.stages.validate_data import infer_task
from tests.http_server import LoopbackServer, closed_port_url
from tests.tables import labelled_frame

CSV = b"a,b,label\n1,2.5,x\n3,4.5,y\n5,6.5,x\n"


@pytest.mark.parametrize("name, rows, classes", [("breast_cancer", 569, 2), ("iris", 150, 3), ("wine", 178, 3)])
def test_builtin_datasets_have_a_target_column(name, rows, classes):
    df = acquire({"source": "builtin", "builtin": name})
    assert len(df) == rows
    assert df["target"].nunique() == classes


def test_builtin_diabetes_is_regression():
    df = acquire({"source": "builtin", "builtin": "diabetes"})
    assert infer_task(df["target"]) == "regression"


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "d.parquet"
    labelled_frame().to_parquet(path)
    df = acquire({"source": "file", "path": str(path), "format": "auto", "delimiter": ",", "encoding": "utf-8"})
    pd.testing.assert_frame_equal(df, labelled_frame())


def test_missing_file_names_the_key(tmp_path):
    with pytest.raises(StageError, match="does not exist") as error:
        acquire(
            {
                "source": "file",
                "path": str(tmp_path / "nope.csv"),
                "format": "auto",
                "delimiter": ",",
                "encoding": "utf-8",
            }
        )
    assert "data.path" in str(error.value)


def url_source(url, retries):
    return {
        "source": "url",
        "url": url,
        "format": "auto",
        "delimiter": ",",
        "encoding": "utf-8",
        "download_retries": retries,
    }


def test_url_download_retries_5xx_then_succeeds():
    with LoopbackServer(answers=[(503, b""), (503, b"")], default=(200, CSV), content_type="text/csv") as server:
        df = acquire(url_source(server.url("/data.csv"), retries=4))
    assert df.shape == (3, 3) and len(server.requests) == 3
    assert [request.method for request in server.requests] == ["GET"] * 3


def test_url_answering_404_is_not_retried_and_names_the_key():
    with LoopbackServer(answers=[(404, b"")]) as server, pytest.raises(StageError) as error:
        acquire(url_source(server.url("/data.csv"), retries=4))
    assert len(server.requests) == 1
    assert "[acquire_data] the server answered HTTP 404 for the data URL" in str(error.value)
    assert "check data.url" in str(error.value)


def test_unreachable_url_says_how_often_it_tried():
    with pytest.raises(StageError, match=r"could not reach the data URL after 2 attempts \(ConnectionError\)"):
        acquire(url_source(closed_port_url("/data.csv"), retries=2))


def test_sql_query_through_sqlalchemy(tmp_path, monkeypatch):
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as connection:
        pd.DataFrame({"a": [1, 2, 3], "label": ["x", "y", "x"]}).to_sql("t", connection, index=False)
    monkeypatch.setenv("MY_DB", f"sqlite:///{db}")
    df = acquire({"source": "sql", "sql_url_env": "MY_DB", "sql_query": "SELECT a, label FROM t WHERE a > 1"})
    assert df["a"].tolist() == [2, 3]
