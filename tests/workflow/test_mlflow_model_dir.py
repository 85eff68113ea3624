"""A version's MLflow model directory loads, predicts and is served by MLflow alone: a fresh venv holding only what
the directory's requirements.txt lists (no snaketrain), giving the service's predictions."""

import json
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
import requests

from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from tests.fitted_models import NAME, publish_fitted

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
pytest.importorskip("mlflow", reason="requirements-mlflow.txt is not installed")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_mlflow_directory_is_served_by_mlflow_alone_in_a_clean_venv(tmp_path):
    from snaketrain.tracking.mlflow_mirror import write_mlflow_model

    root = tmp_path / "registry"
    version, train = publish_fitted(root, tmp_path)
    registry.promote(root, version, NAME)
    model_dir = write_mlflow_model(root, version, NAME, train)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(model_dir / "requirements.txt")],
        check=True,
        env=env,
        timeout=1800,
    )
    assert subprocess.run([str(python), "-c", "import snaketrain"], env=env, capture_output=True).returncode != 0

    rows = train.drop(columns=["y"]).head(12).copy()
    rows.loc[rows.index[:2], "colour"] = None  # missing text, imputed as in training
    rows.loc[rows.index[2], "colour"] = "ultraviolet"  # never seen
    expected = inference.predict(inference.load_version(root, version, NAME), rows).labels.tolist()

    script = (
        "import json, sys, mlflow.pyfunc, pandas as pd\n"
        "rows = pd.read_json(sys.argv[2], orient='split')\n"
        "print(json.dumps(mlflow.pyfunc.load_model(sys.argv[1]).predict(rows).tolist()))\n"
    )
    payload = tmp_path / "rows.json"
    payload.write_text(rows.to_json(orient="split", index=False))
    loaded = subprocess.run(
        [str(python), "-c", script, str(model_dir), str(payload)], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == expected

    port = free_port()
    log = (tmp_path / "mlflow-serve.log").open("w")
    serve = subprocess.Popen(
        [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert serve.poll() is None, (tmp_path / "mlflow-serve.log").read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": expected}
        assert pd.Series(expected).isin(["yes", "no"]).all()
    finally:
        serve.terminate()
        serve.wait(timeout=60)
        log.close()
