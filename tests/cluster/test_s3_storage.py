"""No shared file system: the pipeline with S3 as default storage, as profiles/kubernetes runs it.

No Kubernetes API server can run here, so the pods' side is taken by the local executor: the full pipeline
runs with the kubernetes profile's storage settings (`--default-storage-provider s3`, a bucket prefix,
`--shared-fs-usage none`) against moto's S3 server on loopback, and its results must equal a local run's.
The same profile is then shown to be accepted by Snakemake with its own executor (dry run).
"""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
import yaml

from tests.cluster.cluster_helpers import bounded_snakemake
from tests.harness import ROOT, copy_project

BUCKET = "snaketrain-test"
CREDENTIALS = {"SNAKEMAKE_STORAGE_S3_ACCESS_KEY": "testing", "SNAKEMAKE_STORAGE_S3_SECRET_KEY": "testing"}
MODELS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]
GPU_MODEL = MODELS[-1]  # any of the default models: the one that asks for a GPU


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1 with an empty bucket; stopped (by its pid) after the module."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2)  # noqa: S310 (loopback only)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.3)
        client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def client(url):
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def planned(output, rule):
    """{model: resources line} of the planned jobs of one rule in a dry run's output."""
    plans = {}
    for block in re.split(r"^(?:local)?rule ", output, flags=re.MULTILINE)[1:]:
        if block.startswith(f"{rule}:"):
            fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, flags=re.MULTILINE))
            plans[fields["wildcards"].removeprefix("model=")] = fields["resources"]
    return plans


def storage_env(url, prefix):
    return {"SNAKETRAIN_S3_ENDPOINT": url, "SNAKETRAIN_S3_PREFIX": f"s3://{BUCKET}/{prefix}", **CREDENTIALS}


@pytest.mark.workflow
@pytest.mark.slow
def test_full_pipeline_through_s3_matches_local_run(s3_endpoint, default_run, tmp_path):
    project = copy_project(tmp_path / "project")
    result, _ = bounded_snakemake(
        project,
        "--profile",
        "profiles/kubernetes",
        "--executor",
        "local",
        "--cores",
        "2",
        env=storage_env(s3_endpoint, "runs/s3-test"),
        seconds=900,
    )
    assert result.returncode == 0, result.stdout[-6000:]

    # every declared output lives in the bucket, none in the working directory
    s3 = client(s3_endpoint)
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/s3-test/")["Contents"]}
    assert "runs/s3-test/results/deploy/receipt.json" in keys
    assert not (project / "results").exists()
    assert not (project / "resources").exists()

    def remote(path):
        return s3.get_object(Bucket=BUCKET, Key=f"runs/s3-test/{path}")["Body"].read()

    for model in MODELS:
        metrics = f"results/evaluation/{model}/metrics.json"
        assert json.loads(remote(metrics)) == json.loads((default_run / metrics).read_text()), model
        joblib = f"results/models/{model}.joblib"
        assert remote(joblib) == (default_run / joblib).read_bytes(), model
    for path in ("results/comparison/metrics.csv", "results/gate/decision.json"):
        assert remote(path) == (default_run / path).read_bytes(), path

    # the registry is a side effect of the localrules, which run where snakemake was started: it stays
    # on this machine (registry.path), with the same content-addressed version as the local run's
    pointer = Path("registry") / "models" / "breast_cancer" / "production.json"
    version = json.loads((project / pointer).read_text())["version"]
    assert version == json.loads((default_run / pointer).read_text())["version"]
    assert (project / "registry" / "models" / "breast_cancer" / "versions" / version / "pipeline.skops").is_file()
    assert not any(key.startswith("runs/s3-test/registry/") for key in keys)


@pytest.mark.workflow
def test_kubernetes_profile_is_accepted_and_plans_the_pipeline(s3_endpoint, tmp_path):
    """The kubernetes executor plugin is installed, the profile parses, and a dry run plans every job."""
    project = copy_project(tmp_path / "project")
    result, _ = bounded_snakemake(
        project,
        "--profile",
        "profiles/kubernetes",
        "--dry-run",
        env=storage_env(s3_endpoint, "runs/dry"),
        seconds=300,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Using profiles profiles/kubernetes" in result.stdout
    for rule in ("acquire_data", "build_features", "tune_model", "train_model", "evaluate_model", "quality_gate"):
        assert rule in result.stdout.split("Job stats:", 1)[1]
    # inputs and outputs are planned in the bucket, not on a shared file system
    assert f"s3://{BUCKET}/runs/dry/results/features/train.parquet" in result.stdout
    # tune and train pods get limits (scale=0), which Kubernetes requires for a GPU request
    for rule in ("tune_model", "train_model"):
        assert all("scale=0" in resources for resources in planned(result.stdout, rule).values()), rule


@pytest.mark.workflow
def test_kubernetes_profile_maps_a_gpu_model(s3_endpoint, tmp_path):
    project = copy_project(tmp_path / "project")
    overlay = tmp_path / "gpu.yaml"
    overlay.write_text(f"estimators:\n  {GPU_MODEL}:\n    resources:\n      gpu: 1\n")
    result, _ = bounded_snakemake(
        project,
        "--profile",
        "profiles/kubernetes",
        "--configfile",
        str(overlay),
        "--dry-run",
        env=storage_env(s3_endpoint, "runs/gpu"),
        seconds=300,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    resources = planned(result.stdout, "tune_model")
    assert set(resources) == set(MODELS)
    # the model that asks for a GPU: a gpu resource the kubernetes executor turns into nvidia.com/gpu
    assert re.search(r"\bgpu=1\b", resources[GPU_MODEL]), resources
    assert "gpu_manufacturer=nvidia" in resources[GPU_MODEL]
    # the others ask for none (no gpu resource at all: the executor would demand a manufacturer for gpu=0)
    for model in set(MODELS) - {GPU_MODEL}:
        assert not re.search(r"\bgpu=", resources[model]), resources
