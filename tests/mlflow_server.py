"""Real MLflow processes on loopback for the tracking tests: a tracking server (SQLite backend, local artifact
root) and `mlflow models serve`. Each is started in its own process group and stopped by its id."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

START_TIMEOUT_S = 240


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_env():
    # the mlflow CLI starts uvicorn by name: the venv's bin must be on PATH (make test puts it there too)
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


class MlflowProcess:
    """An mlflow CLI process on 127.0.0.1:port, ready once `ready_path` answers 200."""

    def __init__(self, args, port, log_path, ready_path):
        self.args, self.port, self.log_path, self.ready_path = args, port, Path(log_path), ready_path
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - open while the process runs
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), *self.args, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=mlflow_env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow {self.args[0]} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow {self.args[0]} did not answer within {START_TIMEOUT_S} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own group: the server and its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            self.log.close()
        self.process = None


def tracking_server(folder, port=None):
    """A tracking server with its backend store and artifacts in folder (not started)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--default-artifact-root",
        str(folder / "artifacts"),
        "--workers",
        "1",
    ]
    return MlflowProcess(args, port or free_port(), folder / "server.log", "/health")


def model_server(model_dir, log_path):
    """`mlflow models serve` of an MLflow model directory in this environment (not started)."""
    args = ["models", "serve", "-m", str(model_dir), "--env-manager", "local", "--workers", "1"]
    return MlflowProcess(args, free_port(), log_path, "/ping")
