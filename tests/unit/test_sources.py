"""The url and sql sources against a real HTTP server on loopback and a real SQLite database."""

import http.server
import sqlite3
import threading

import pandas as pd
import pytest

from snaketrain.acquire_data import acquire
from snaketrain.estimators import build_estimator

CSV = b"a,b,label\n1,2.5,x\n3,4.5,y\n5,6.5,x\n"


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` requests, then serves the CSV."""

    failures = 0
    seen = 0

    def do_GET(self):
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        self.wfile.write(CSV)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FlakyHandler.failures, FlakyHandler.seen = 2, 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def url_source(url, retries):
    return {
        "source": "url",
        "url": url,
        "format": "auto",
        "delimiter": ",",
        "encoding": "utf-8",
        "download_retries": retries,
    }


def test_url_download_retries_5xx_then_succeeds(server):
    df = acquire(url_source(f"{server}/data.csv", retries=4))
    assert df.shape == (3, 3) and FlakyHandler.seen == 3


def test_sql_query_through_sqlalchemy(tmp_path, monkeypatch):
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as connection:
        pd.DataFrame({"a": [1, 2, 3], "label": ["x", "y", "x"]}).to_sql("t", connection, index=False)
    monkeypatch.setenv("MY_DB", f"sqlite:///{db}")
    df = acquire({"source": "sql", "sql_url_env": "MY_DB", "sql_query": "SELECT a, label FROM t WHERE a > 1"})
    assert df["a"].tolist() == [2, 3]


def test_estimator_by_dotted_class_path():
    model = build_estimator(
        "sgd", {"estimator": "sklearn.linear_model.SGDClassifier", "params": {"alpha": 0.01}}, "binary", seed=3
    )
    assert type(model).__name__ == "SGDClassifier" and model.random_state == 3 and model.alpha == 0.01
