"""The service's Kubernetes manifest and container stage fit together (checked with the Kubernetes client's models,
since no API server runs here)."""

import json
import re

import pytest
import yaml

from tests.harness import ROOT

kubernetes = pytest.importorskip("kubernetes", reason="the kubernetes client comes with the cluster requirements")

MANIFEST = ROOT / "deploy" / "kubernetes" / "serve.yaml"


class _Response:
    """What ApiClient.deserialize reads: an HTTP answer's body."""

    def __init__(self, document):
        self.data = json.dumps(document)


def load_objects():
    client = kubernetes.client.ApiClient()
    objects = {}
    for document in yaml.safe_load_all(MANIFEST.read_text()):
        kind = {"Deployment": "V1Deployment", "Service": "V1Service"}[document["kind"]]
        model = client.deserialize(_Response(document), kind)
        # the models drop fields they do not know: a round trip equal to the file means no misspelt field
        assert client.sanitize_for_serialization(model) == document, f"{document['kind']} has fields Kubernetes ignores"
        objects[document["kind"]] = model
    return objects


def test_the_manifest_is_a_deployment_and_service_kubernetes_accepts():
    objects = load_objects()
    deployment, service = objects["Deployment"], objects["Service"]
    pod = deployment.spec.template
    assert deployment.spec.selector.match_labels.items() <= pod.metadata.labels.items()
    assert service.spec.selector.items() <= pod.metadata.labels.items()
    (container,) = pod.spec.containers
    ports = {port.name: port.container_port for port in container.ports}
    assert service.spec.ports[0].target_port in ports
    assert container.readiness_probe.http_get.path == "/ready"
    assert container.liveness_probe.http_get.path == "/health"
    assert {container.readiness_probe.http_get.port, container.liveness_probe.http_get.port} <= set(ports)
    # the registry comes from a volume, mounted where the image's entrypoint looks for it
    (mount,) = container.volume_mounts
    assert mount.name in {volume.name for volume in pod.spec.volumes}
    containerfile = (ROOT / "Containerfile").read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", containerfile, re.MULTILINE).group(1))
    assert entrypoint[entrypoint.index("--registry") + 1] == mount.mount_path
    assert int(entrypoint[entrypoint.index("--port") + 1]) == ports["http"]
    assert "FROM base AS serve" in containerfile
    # draining on SIGTERM needs the grace period to outlast the service's own (30 s)
    assert pod.spec.termination_grace_period_seconds > 30
