"""The model service: real server processes on loopback ports, real HTTP, a registry made by a real run.

Two extra versions are registered next to the run's own (a refit with another C, and a copy whose model file is
changed after registration), so promotion, rollback and refusal can be watched while requests keep coming.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import pandas as pd
import pytest
import requests
from sklearn.linear_model import LogisticRegression

from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.table_io import write_json
from tests.harness import ROOT, snakemake
from tests.workflow.small_runs import SMALL_ARGS, small_run

pytestmark = pytest.mark.workflow
pytest.importorskip("uvicorn", reason="the service's requirements (requirements-serve.txt) are not installed")

TOKEN = "s3cret-token-for-tests"
# the files whose curl examples must run as written, against the address `make serve` listens on
DOCS_WITH_REQUESTS = (ROOT / "docs" / "serving.md",)
DOCUMENTED_URL = "http://127.0.0.1:8080"
NAME = "breast_cancer"
REQUEST_TIMEOUT_S = 10


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `snaketrain-serve` process on a loopback port; its output goes to a log file the test can read."""

    def __init__(self, registry_root, workdir, *args, env=None, names=(NAME,)):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(workdir) / f"serve-{self.port}.log"
        full_env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKETRAIN_")}
        full_env.update(env or {})
        # the small run's data.name is its registered model name
        command = [sys.executable, "-m", "snaketrain.serving.service", "--registry", str(registry_root)]
        command += [part for name in names for part in ("--name", name)]
        command += ["--port", str(self.port), "--poll-seconds", "0.2", *args]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                requests.get(self.url + "/health", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError("the service did not start:\n" + self.log())

    def log(self):
        return self.log_path.read_text()

    def get(self, path, **kwargs):
        return requests.get(self.url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)

    def post(self, path, **kwargs):
        return requests.post(self.url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)

    def wait_for_version(self, version, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/ready").headers.get("x-model-version") == version:
                return
            time.sleep(0.1)
        raise AssertionError(f"the service did not switch to {version}:\n{self.log()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    """A finished small run with its production version, and a refit registered as a second version."""
    workdir = small_run(tmp_path_factory)
    root = tmp_path_factory.mktemp("serve") / "registry"
    shutil.copytree(workdir / "registry", root)
    first = registry.production(root, NAME)["version"]
    meta = registry.metadata(root, first, NAME)
    # another fit on the same features: a second version with the same columns and other probabilities
    train = pd.read_parquet(workdir / "results/features/train.parquet")
    target = meta["input_schema"]["target"]
    model = LogisticRegression(C=0.001, max_iter=1000).fit(train.drop(columns=[target]), train[target])
    preprocessor = joblib.load(workdir / "results/features/preprocessor.joblib")  # this run's own file
    refit = root.parent / "refit.skops"
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), refit)
    second, _ = registry.publish(root, {"pipeline.skops": refit}, dict(meta, model="logistic_regression"), NAME)
    test = pd.read_parquet(workdir / "results/split/test.parquet")
    return {
        "workdir": workdir,
        "root": root,
        "first": first,
        "second": second,
        "test": test,
        "target": target,
        "refit": refit,
    }


@pytest.fixture(scope="module")
def server(served_run, tmp_path_factory):
    server = Server(served_run["root"], tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


def rows(served_run, n=20):
    return served_run["test"].drop(columns=[served_run["target"]]).head(n)


def split_payload(df):
    return {"dataframe_split": json.loads(df.to_json(orient="split", index=False))}


def assert_no_internals(response):
    text = response.text
    assert "Traceback" not in text and "/tmp" not in text and str(Path.home()) not in text
    assert response.status_code != 500


def test_health_ready_metadata_and_version_header(server, served_run):
    for path in ("/health", "/ready", "/metadata", "/metrics"):
        response = server.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-model-version"] == served_run["first"], path
        assert response.headers["x-model-name"] == NAME, path
    meta = server.get("/metadata").json()
    assert meta["version"] == served_run["first"] and meta["task"] == "binary"
    assert set(meta["input_schema"]["columns"]) == set(rows(served_run).columns)
    assert meta["metrics"]["f1"] > 0.9 and meta["engine"] == "onnxruntime" and meta["refused"] is None


def curl_examples(path):
    """(command, documented answer or None) of every curl command in the fenced code blocks of a Markdown file, in
    order. A command runs until its quotes close on a line without a trailing backslash; a `# {...}` line right
    after it is its documented answer."""
    examples = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", Path(path).read_text(encoding="utf-8"), re.M | re.S):
        lines = iter(block.splitlines())
        line = next(lines, None)
        while line is not None:
            if not line.startswith("curl "):
                line = next(lines, None)
                continue
            command = line
            while not _whole_command(command):
                command += "\n" + next(lines)
            line = next(lines, None)
            answer = None
            if line is not None and line.startswith("# {"):
                answer, line = json.loads(line[2:]), next(lines, None)
            examples.append((command, answer))
    return examples


def _whole_command(text):
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text)
    except ValueError:  # a quote still open
        return False
    return True


@pytest.mark.parametrize("doc", DOCS_WITH_REQUESTS, ids=lambda path: path.name)
def test_the_documented_requests_run_as_written(server, doc):
    """Each curl example, sent by curl through the shell as a reader pastes it: answered without an error, with the
    documented answer's fields and its predictions."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    examples = curl_examples(doc)
    sent_to = {re.search(r"127\.0\.0\.1:8080(/\S*)", command).group(1) for command, _ in examples}
    assert {"/metadata", "/predict", "/invocations"} <= sent_to, sent_to
    for command, documented in examples:
        assert DOCUMENTED_URL in command, command
        run = subprocess.run(
            ["bash", "-c", command.replace(DOCUMENTED_URL, server.url)], capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, (command, run.stderr)
        answer = json.loads(run.stdout)
        assert "error_code" not in answer, (command, answer)
        if documented is not None:
            assert answer.keys() == documented.keys(), command
            for key in ("name", "predictions", "classes"):
                assert answer.get(key) == documented.get(key), (command, key)


def test_mlflow_payloads_give_the_predict_targets_predictions(server, served_run, tmp_path):
    df = rows(served_run)
    # the pipeline's own batch scoring of the same rows, through `snakemake predict`
    project = tmp_path / "project"
    shutil.copytree(served_run["workdir"], project, symlinks=True)
    df.to_csv(project / "rows.csv", index=False)
    (project / "config" / "rows.yaml").write_text("predict:\n  input: rows.csv\n")
    snakemake(project, "predict", "--cores", "1", *SMALL_ARGS, "config/rows.yaml")
    expected = pd.read_parquet(project / "results/predictions/rows.parquet")["prediction"].tolist()

    records = json.loads(df.to_json(orient="records"))
    order = server.get("/metadata").json()["input_schema"]["columns"]
    training_order = list(df.columns)
    payloads = {
        "dataframe_split": split_payload(df),
        "dataframe_records": {"dataframe_records": records},
        "inputs (records)": {"inputs": records},
        "instances (rows in the training table's order)": {"instances": df[training_order].values.tolist()},
        "inputs (columns)": {"inputs": {column: df[column].tolist() for column in order}},
    }
    for label, payload in payloads.items():
        response = server.post("/invocations", json=payload)
        assert response.status_code == 200, (label, response.text)
        assert response.json() == {"predictions": expected}, label
    response = server.post("/invocations", data=df.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert response.json() == {"predictions": expected}

    answer = server.post("/predict", json=records).json()
    assert answer["predictions"] == expected and answer["version"] == served_run["first"] and answer["name"] == NAME
    assert answer["classes"] == [0, 1] and len(answer["probabilities"]) == len(df)
    assert all(abs(sum(p) - 1) < 1e-5 for p in answer["probabilities"])
    assert server.post("/predict", json={"records": records}).json()["predictions"] == expected


def test_every_bad_input_is_named_and_none_is_a_500(server, served_run):
    df = rows(served_run, 3)
    records = json.loads(df.to_json(orient="records"))
    missing = [{k: v for k, v in record.items() if k != "mean area"} for record in records]
    wrong = [dict(record) for record in records]
    wrong[1]["mean radius"] = "big"
    both = [dict(record, **{"mean radius": "big"}) for record in missing]

    response = server.post("/invocations", json={"dataframe_records": missing})
    assert response.status_code == 422 and "mean area" in response.json()["problems"][0]
    response = server.post("/predict", json=wrong)
    assert response.status_code == 422
    assert response.json()["problems"] == ["column 'mean radius' must be numeric but holds 'big' (row 1)"]
    response = server.post("/invocations", json={"dataframe_records": both})
    assert response.status_code == 422 and len(response.json()["problems"]) == 2
    assert server.post("/invocations", json={"dataframe_records": []}).status_code == 422

    malformed = [
        ("/invocations", b'{"dataframe_split": ', "application/json"),
        ("/invocations", b'{"something_else": []}', "application/json"),
        ("/invocations", b'{"instances": [[1, 2]]}', "application/json"),
        ("/invocations", b'a,b\n1,2,3\n"', "text/csv"),
        ("/invocations", b"\xff\xfe", "text/csv"),
        ("/predict", b"[1, 2", "application/json"),
        ("/predict", b'"records"', "application/json"),
    ]
    for path, body, media in malformed:
        response = server.post(path, data=body, headers={"Content-Type": media})
        assert response.status_code == 400, (body, response.text)
        assert_no_internals(response)
    response = server.post("/invocations", data=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    for response in (
        server.post("/invocations", json={"dataframe_records": missing}),
        server.post("/predict", json=wrong),
    ):
        assert_no_internals(response)


def test_body_size_limit_and_bearer_token(served_run, tmp_path):
    server = Server(served_run["root"], tmp_path, "--max-body-bytes", "2000", env={"SNAKETRAIN_SERVE_TOKEN": TOKEN})
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        one = split_payload(rows(served_run, 1))
        assert server.post("/invocations", json=one).status_code == 401
        assert server.post("/invocations", json=one, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert server.get("/metadata").status_code == 401
        assert server.post("/invocations", json=one, headers=auth).status_code == 200
        # the probes of an orchestrator need no token
        assert server.get("/health").status_code == 200 and server.get("/ready").status_code == 200
        big = split_payload(rows(served_run, 50))
        assert server.post("/invocations", json=big, headers=auth).status_code == 413
        chunked = (chunk for chunk in [json.dumps(big).encode()[i : i + 500] for i in range(0, 20000, 500)])
        chunked_headers = {**auth, "Content-Type": "application/json"}
        assert server.post("/invocations", data=chunked, headers=chunked_headers).status_code == 413
    finally:
        server.stop()
    assert TOKEN not in server.log()
    unguarded = Server(served_run["root"], tmp_path)
    try:
        assert unguarded.post("/invocations", json=one).status_code == 200
    finally:
        unguarded.stop()


class Load:
    """Clients posting one-row requests in a loop (bounded in count and time), recording every answer."""

    def __init__(self, server, payload, clients=4, max_requests=20000, max_seconds=120, path="/invocations"):
        self.server, self.payload, self.path = server, payload, path
        self.answers, self.failures = [], []
        self.stop_event = threading.Event()
        self.deadline = time.monotonic() + max_seconds
        self.per_client = max_requests // clients
        self.threads = [threading.Thread(target=self.client) for _ in range(clients)]

    def client(self):
        session = requests.Session()
        for _ in range(self.per_client):
            if self.stop_event.is_set() or time.monotonic() > self.deadline:
                return
            try:
                response = session.post(self.server.url + self.path, json=self.payload, timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException as error:
                self.failures.append(repr(error))
                continue
            if response.status_code != 200:
                self.failures.append(f"{response.status_code} {response.text}")
            else:
                self.answers.append(response.headers["x-model-version"])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.threads:
            thread.join()


def test_promotion_and_rollback_under_load_fail_no_request(served_run, tmp_path):
    root = tmp_path / "registry"
    shutil.copytree(served_run["root"], root)
    first, second = served_run["first"], served_run["second"]
    server = Server(root, tmp_path)
    try:
        with Load(server, split_payload(rows(served_run, 1))) as load:
            time.sleep(1)
            registry.promote(root, second, NAME)
            server.wait_for_version(second)
            time.sleep(1)
            registry.promote(root, first, NAME)  # the rollback
            server.wait_for_version(first)
            time.sleep(1)
        assert load.failures == []
        switches = [a for a, b in zip(load.answers, load.answers[1:], strict=False) if a != b]
        assert second in load.answers and load.answers[-1] == first and switches
        assert server.get("/metadata").json()["version"] == first
        assert f"serving version {second}" in server.log() and f"serving version {first}" in server.log()
    finally:
        server.stop()


def test_a_tampered_version_is_refused_and_the_old_keeps_serving(served_run, tmp_path):
    root = tmp_path / "registry"
    shutil.copytree(served_run["root"], root)
    first, second = served_run["first"], served_run["second"]
    server = Server(root, tmp_path)
    try:
        model_file = registry.version_dir(root, second, NAME) / "pipeline.skops"
        model_file.write_bytes(model_file.read_bytes() + b"tampered")
        # the pointer moved by hand (promote itself refuses a changed version)
        write_json({"version": second, "previous": first, "promoted_at": "now"}, registry.production_path(root, NAME))
        deadline = time.monotonic() + 60
        while server.get("/metadata").json()["refused"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        meta = server.get("/metadata").json()
        assert meta["version"] == first and meta["refused"]["version"] == second
        assert "sha256" in meta["refused"]["reason"] and str(root) not in json.dumps(meta)
        response = server.post("/invocations", json=split_payload(rows(served_run, 2)))
        assert response.status_code == 200 and response.headers["x-model-version"] == first
        assert f"refused version {second}" in server.log()
        refused = f'snaketrain_serve_refused_version_info{{name="{NAME}",version="{second}"}} 1.0'
        assert refused in server.get("/metrics").text
    finally:
        server.stop()


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(served_run, tmp_path):
    server = Server(served_run["root"], tmp_path)
    body = json.dumps(split_payload(rows(served_run, 5))).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body[:100])
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert server.process.poll() is None  # still draining the request
        sock.sendall(body[100:])
        answer = b""
        while b'"predictions"' not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b'"predictions":[' in answer
    assert server.process.wait(timeout=30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=2)


def test_metrics_count_requests_by_endpoint_and_status(server, served_run):
    server.post("/invocations", json={"nothing": 1})
    text = server.get("/metrics").text
    assert 'snaketrain_serve_requests_total{endpoint="/invocations",status="400"}' in text
    assert 'snaketrain_serve_request_seconds_bucket{endpoint="/invocations",le="0.005"}' in text
    assert f'version="{served_run["first"]}"' in text


def test_mlflows_own_scoring_client_waits_for_ping_and_predicts(server, served_run):
    """mlflow.pyfunc.scoring_server.client.ScoringServerClient, as MLflow's tools use it against `models serve`."""
    pytest.importorskip("mlflow", reason="requirements-mlflow.txt is not installed")
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    client = ScoringServerClient("127.0.0.1", server.port)
    client.wait_server_ready(timeout=30)
    assert client.get_version() == server.get("/version").text
    df = rows(served_run)
    theirs = client.invoke(df)  # a PredictionsResponse: the JSON answer as a dict
    ours = server.post("/invocations", json=split_payload(df)).json()
    assert dict(theirs) == ours
    assert theirs.get_predictions("ndarray").tolist() == ours["predictions"]
    ping = server.get("/ping")
    assert ping.status_code == 200 and ping.text == "\n"


def test_bodies_over_the_limit_get_the_413_answer_whatever_the_client(served_run, tmp_path):
    """urllib sends the whole body before it reads: it must read the 413, not a connection reset."""
    import urllib.error
    import urllib.request

    server = Server(served_run["root"], tmp_path, "--max-rows", "30", "--read-timeout", "1")
    try:
        body = b'{"dataframe_records": [' + b" " * (11 * 1024 * 1024) + b"]}"
        request = urllib.request.Request(
            server.url + "/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=30)
        assert answer.value.code == 413
        assert json.loads(answer.value.read())["error_code"] == "REQUEST_TOO_LARGE"

        # a raw socket sending the whole body, then reading; the connection stays usable afterwards
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            head = (
                "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body)
            answer = _read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 413") and b"REQUEST_TOO_LARGE" in answer
            one = json.dumps(split_payload(rows(served_run, 1))).encode()
            sock.sendall(
                (
                    "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(one)}\r\n\r\n"
                ).encode()
                + one
            )
            assert _read_answer(sock).startswith(b"HTTP/1.1 200")

        # more rows than --max-rows: 413 naming the limit
        response = server.post("/invocations", json=split_payload(rows(served_run, 31)))
        assert response.status_code == 413 and "at most 30" in response.json()["message"]
        assert server.post("/invocations", json=split_payload(rows(served_run, 30))).status_code == 200

        # a client that stops sending mid-body is answered 408 and dropped; others are served meanwhile
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
            assert server.post("/invocations", json=split_payload(rows(served_run, 1))).status_code == 200
            started = time.monotonic()
            answer = _read_answer(slow)
            assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 10
    finally:
        server.stop()


def _read_answer(sock):
    """One HTTP answer (headers and a Content-Length body) from sock."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


OTHER = "second_model"


def test_several_names_from_one_process_each_follow_their_own_production(served_run, tmp_path):
    """Two names served at once, production moving twice for each under load: no request fails."""
    root = tmp_path / "registry"
    shutil.copytree(served_run["root"], root)
    first, second = served_run["first"], served_run["second"]
    meta = registry.metadata(root, first, NAME)
    other_first, _ = registry.publish(root, {"pipeline.skops": served_run["refit"]}, meta, OTHER)
    other_second, _ = registry.publish(
        root, {"pipeline.skops": registry.version_dir(root, first, NAME) / "pipeline.skops"}, meta, OTHER
    )
    registry.promote(root, other_first, OTHER)
    server = Server(root, tmp_path, names=(NAME, OTHER))
    try:
        meta = server.get("/metadata").json()
        assert meta["name"] == NAME and set(meta["models"]) == {NAME, OTHER}
        assert server.get(f"/models/{OTHER}/metadata").json()["version"] == other_first
        assert server.get("/models/nobody/metadata").status_code == 404
        payload = split_payload(rows(served_run, 1))
        plain = server.post("/invocations", json=payload)
        named = server.post(f"/models/{OTHER}/invocations", json=payload)
        assert plain.headers["x-model-name"] == NAME and named.headers["x-model-name"] == OTHER
        assert named.headers["x-model-version"] == other_first
        with (
            Load(server, payload, clients=2) as load,
            Load(server, payload, clients=2, path=f"/models/{OTHER}/invocations") as other_load,
        ):
            time.sleep(1)
            registry.promote(root, second, NAME)
            registry.promote(root, other_second, OTHER)
            server.wait_for_version(second)
            time.sleep(1)
            registry.promote(root, first, NAME)
            registry.promote(root, other_first, OTHER)
            server.wait_for_version(first)
            time.sleep(1)
        assert load.failures == [] and other_load.failures == []
        assert second in load.answers and other_second in other_load.answers
        assert set(load.answers) == {first, second} and set(other_load.answers) == {other_first, other_second}
        assert server.get(f"/models/{OTHER}/ready").json()["version"] == other_first
    finally:
        server.stop()


def test_a_model_with_text_columns_and_gaps_is_served_by_onnx_runtime(tmp_path):
    """A categorical input schema takes the fast path; null and "" are missing values, unseen text is handled as in
    training; the answers equal scikit-learn's."""
    from tests.fitted_models import NAME as TOY
    from tests.fitted_models import publish_fitted

    root = tmp_path / "registry"
    version, train = publish_fitted(root, tmp_path)
    registry.promote(root, version, TOY)
    server = Server(root, tmp_path, names=(TOY,))
    try:
        meta = server.get("/metadata").json()
        assert meta["engine"] == "onnxruntime", meta["engine_note"]
        sent = json.loads(train.drop(columns=["y"]).head(8).to_json(orient="records"))
        sent[0]["colour"], sent[1]["colour"], sent[2]["colour"], sent[3]["x"] = None, "", "ultraviolet", None
        answer = server.post("/predict", json=sent).json()
        loaded = inference.load_production(root, TOY)
        expected = inference.predict(loaded, pd.DataFrame(sent))
        assert answer["predictions"] == expected.labels.tolist()
        for got, want in zip(answer["probabilities"], expected.probabilities.tolist(), strict=True):
            assert got == pytest.approx(want, abs=1e-5)
        response = server.post("/invocations", json={"dataframe_records": sent})
        assert response.json() == {"predictions": expected.labels.tolist()}
    finally:
        server.stop()
