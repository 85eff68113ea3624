"""A version's MLflow model directory loads, predicts and is served by MLflow alone: a fresh venv holding only what
the directory's requirements.txt lists (no snaketrain), giving the service's predictions; with the user's feature
code (features.custom) too, giving the predict target's predictions on the same raw rows."""

import json
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
import requests

from snaketrain.data_files import read_file
from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from tests.fitted_models import NAME, publish_fitted
from tests.harness import copy_project, snakemake
from tests.tables import customer_table
from tests.workflow.test_users_tables import FEATURE_CODE

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
pytest.importorskip("mlflow", reason="requirements-mlflow.txt is not installed")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CleanVenv:
    """One venv for this module's tests (building it takes minutes): each directory's requirements.txt installed
    into it (the same pins for scikit-learn models, so the second install finds them there), never snaketrain."""

    def __init__(self, folder):
        self.folder = folder
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        self.python = folder / "bin" / "python"
        self.env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env["PATH"] = f"{folder / 'bin'}:{self.env['PATH']}"

    def install(self, model_dir):
        subprocess.run(
            [str(self.python), "-m", "pip", "install", "-q", "-r", str(model_dir / "requirements.txt")],
            check=True,
            env=self.env,
            timeout=1800,
        )
        imported = subprocess.run([str(self.python), "-c", "import snaketrain"], env=self.env, capture_output=True)
        assert imported.returncode != 0

    def load_and_predict(self, model_dir, rows, folder):
        """mlflow.pyfunc.load_model(model_dir).predict(rows) in the venv; rows travel as Parquet (dtypes kept)."""
        script = (
            "import json, sys, mlflow.pyfunc, pandas as pd\n"
            "rows = pd.read_parquet(sys.argv[2])\n"
            "print(json.dumps(mlflow.pyfunc.load_model(sys.argv[1]).predict(rows).tolist()))\n"
        )
        payload = folder / "rows.parquet"
        rows.to_parquet(payload, index=False)
        loaded = subprocess.run(
            [str(self.python), "-c", script, str(model_dir), str(payload)],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(loaded.stdout.strip().splitlines()[-1])

    def serve_and_post(self, model_dir, body, folder):
        """`mlflow models serve` on model_dir, one POST /invocations of body; returns the response."""
        port = free_port()
        log_path = folder / "mlflow-serve.log"
        log = log_path.open("w")
        serve = subprocess.Popen(
            [str(self.folder / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                assert serve.poll() is None, log_path.read_text()
                try:
                    if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.5)
            return requests.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=60)
        finally:
            serve.terminate()
            serve.wait(timeout=60)
            log.close()


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory):
    return CleanVenv(tmp_path_factory.mktemp("clean") / "venv")


def test_the_mlflow_directory_is_served_by_mlflow_alone_in_a_clean_venv(tmp_path, clean_venv):
    from snaketrain.tracking.mlflow_mirror import write_mlflow_model

    root = tmp_path / "registry"
    version, train = publish_fitted(root, tmp_path)
    registry.promote(root, version, NAME)
    model_dir = write_mlflow_model(root, version, NAME, train)
    clean_venv.install(model_dir)

    rows = train.drop(columns=["y"]).head(12).copy()
    rows.loc[rows.index[:2], "colour"] = None  # missing text, imputed as in training
    rows.loc[rows.index[2], "colour"] = "ultraviolet"  # never seen
    expected = inference.predict(inference.load_version(root, version, NAME), rows).labels.tolist()

    assert clean_venv.load_and_predict(model_dir, rows, tmp_path) == expected
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    answer = clean_venv.serve_and_post(model_dir, body, tmp_path)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected}
    assert pd.Series(expected).isin(["yes", "no"]).all()


OVERLAY = """\
data: {name: churn, source: file, path: data/customers.csv, target: churned}
models: [spline_linear]  # its own classes travel in the directory's code/ too
tuning: {cv: 2}
predict: {input: data/new.csv}
features: {custom: {file: features/mine.py, function: add_features}}
"""


def test_the_mlflow_directory_of_a_model_with_feature_code_answers_like_the_predict_target(tmp_path, clean_venv):
    from snaketrain.tracking.mlflow_mirror import write_mlflow_model

    workdir = copy_project(tmp_path / "project")
    (workdir / "data").mkdir()
    table = customer_table(n=1200)
    table.to_csv(workdir / "data" / "customers.csv", index=False)
    table.drop(columns=["churned"]).tail(40).to_csv(workdir / "data" / "new.csv", index=False)
    (workdir / "features").mkdir()
    (workdir / "features" / "mine.py").write_text(FEATURE_CODE)
    (workdir / "config" / "user.yaml").write_text(OVERLAY)
    args = ("--cores", "2", "--configfile", "config/user.yaml")
    snakemake(workdir, *args)
    snakemake(workdir, "predict", *args)
    predicted = pd.read_parquet(workdir / "results" / "predictions" / "new.parquet")["prediction"].tolist()

    root = workdir / "registry"
    version = registry.production(root, "churn")["version"]
    model_dir = write_mlflow_model(root, version, "churn", table, project=workdir)  # as mirror_mlflow: raw rows
    clean_venv.install(model_dir)
    rows = read_file(workdir / "data" / "new.csv")  # as predict reads it: zip codes keep their zeros
    assert "heavy_user" not in rows.columns  # the raw rows: the function adds its columns inside the model

    assert clean_venv.load_and_predict(model_dir, rows, tmp_path) == predicted
    body = {"dataframe_records": json.loads(rows.to_json(orient="records"))}
    answer = clean_venv.serve_and_post(model_dir, body, tmp_path)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": predicted}
