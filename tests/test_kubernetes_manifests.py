"""deploy/kubernetes, checked offline: what `kubectl apply -k` would send (the kustomization's
resources, its generated ConfigMap and its image) against Kubernetes' own schemas, shipped in
kubernetes-validate (strict: an unknown field fails); the parts fitting each other and the
image (user, port, probes, Secret keys); and the ConfigMap's aio-bot.toml read by the bot's
own configuration loader."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.config import parse_config
from bot.metrics.settings import DEFAULT_METRICS_PORT

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"
# The oldest minor version Kubernetes still patched when this was written, and the newest
# whose schemas kubernetes-validate ships.
VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
SECRETS = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "AIO_SSH_PASSWORD",
           "AIO_VCENTER_PASSWORD", "AIO_BOT_DB"}


def _kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    # What _build() below does; a new kustomize feature in the file must be taught to it.
    assert set(data) <= {"apiVersion", "kind", "resources", "configMapGenerator", "images"}
    return data


def _build() -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` makes (without the generated name's hash suffix)."""
    kust = _kustomization()
    objects = [doc for name in kust["resources"]
               for doc in yaml.safe_load_all((KUBE / name).read_text()) if doc]
    for gen in kust.get("configMapGenerator", []):
        files = {Path(f).name: (KUBE / f).read_text() for f in gen["files"]}
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": gen["name"]}, "data": files})
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kust.get("images", [])}
    for obj in objects:
        pod = _pod_spec(obj)
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            c["image"] = images.get(c["image"], c["image"])
    return objects


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [obj] = [o for o in objects if o["kind"] == kind]
    return obj


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return _build()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_against_kubernetes_schemas(objects: list[dict[str, Any]],
                                                          version: str) -> None:
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_a_wrong_field_is_caught() -> None:
    """The check itself: a misspelt field and a wrong type both fail."""
    deployment = _one(_build(), "Deployment")
    _pod_spec(deployment)["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    deployment = _one(_build(), "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_selectors_find_the_pods(objects: list[dict[str, Any]]) -> None:
    deployment = _one(objects, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"],
                     _one(objects, "Service")["spec"]["selector"],
                     _one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()


def test_two_replicas_and_a_budget_that_keeps_one(objects: list[dict[str, Any]]) -> None:
    assert _one(objects, "Deployment")["spec"]["replicas"] == 2
    assert _one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [container] = _pod_spec(_one(objects, "Deployment"))["containers"]
    return container


def _containerfile(instruction: str) -> str:
    text = (ROOT / "Containerfile").read_text()
    found = re.findall(rf"^{instruction} +(\S.*)$", text, re.MULTILINE)
    return str(found[-1])


def test_the_pod_runs_as_the_image_user_locked_down(objects: list[dict[str, Any]]) -> None:
    pod = _pod_spec(_one(objects, "Deployment"))
    uid, _, gid = _containerfile("USER").partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) \
        == (int(uid), int(gid))
    assert pod["automountServiceAccountToken"] is False
    for container in pod["initContainers"] + pod["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["image"] == _container(objects)["image"]
    mounts = {m["mountPath"]: m["name"] for m in _container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # the only writable place


def test_probes_and_ports_meet_the_server(objects: list[dict[str, Any]]) -> None:
    container = _container(objects)
    port, metrics = container["ports"]
    exposed = [int(p) for p in _containerfile("EXPOSE").split()]
    assert [port["containerPort"], metrics["containerPort"]] == exposed
    assert metrics["containerPort"] == DEFAULT_METRICS_PORT  # the bot's [metrics] default
    pod = _one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert pod["prometheus.io/port"] == str(DEFAULT_METRICS_PORT)
    env = {e["name"]: e for e in container["env"]}
    assert env["PORT"]["value"] == str(port["containerPort"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    service = _one(objects, "Service")["spec"]["ports"]
    assert [p["targetPort"] for p in service] == [port["name"], metrics["name"]]


def test_secrets_come_from_the_secret_and_the_config_from_the_configmap(
        objects: list[dict[str, Any]]) -> None:
    container = _container(objects)
    env = {e["name"]: e for e in container["env"]}
    for name in SECRETS:
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == ("aio-bot", name)
    assert "value" not in env["AIO_BOT_DB"]  # a postgresql:// URL with its password
    config = Path(env["AIO_BOT_CONFIG"]["value"])
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod_spec(_one(objects, "Deployment"))["volumes"]}
    [(volume, _)] = [(n, v) for n, v in volumes.items() if "configMap" in v]
    assert mounts[volume] == str(config.parent)
    configmap = _one(objects, "ConfigMap")
    assert volumes[volume]["configMap"]["name"] == configmap["metadata"]["name"]
    assert config.name in configmap["data"]


def test_the_example_configuration_loads(objects: list[dict[str, Any]]) -> None:
    """With the bot's own (strict) loader: documented keys only, every value valid."""
    data = _one(objects, "ConfigMap")["data"]
    config = parse_config(tomllib.loads(data["aio-bot.toml"]), base=Path("/etc/aio-bot"))
    assert len(config.inventory) >= 1
    assert config.ssh.known_hosts.name in data  # the host keys come with it
    assert config.history.scan_interval is not None  # the replicas share background scans


def test_the_commented_vcenter_block_loads_too(objects: list[dict[str, Any]]) -> None:
    text = _one(objects, "ConfigMap")["data"]["aio-bot.toml"]
    block = re.search(r"^# \[vcenter\]\n(?:# \w+ = .*\n)+", text, re.MULTILINE)
    assert block
    enabled = text.replace(block.group(0), re.sub(r"^# ", "", block.group(0), flags=re.M))
    config = parse_config(tomllib.loads(enabled), base=Path("/etc/aio-bot"))
    assert config.vcenter is not None and config.vcenter.ca_file is not None


def test_the_schema_is_migrated_by_its_owner_before_the_bot_starts(
        objects: list[dict[str, Any]]) -> None:
    [init] = _pod_spec(_one(objects, "Deployment"))["initContainers"]
    assert init["args"] == ["aio-bot", "migrate"]
    [db] = [e for e in init["env"] if e["name"] == "AIO_BOT_DB"]
    assert db["valueFrom"]["secretKeyRef"] == {"name": "aio-bot", "key": "AIO_BOT_MIGRATE_DB"}
    assert all(e["name"] != "AIO_BOT_MIGRATE_DB" for e in _container(objects)["env"])
