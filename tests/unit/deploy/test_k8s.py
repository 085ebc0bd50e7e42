"""deploy/k8s: structure, env names and values, probes, resources against the targets."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from kam.settings import BoardSettings
from sinks.board.auth import load_credentials
from tests.unit.deploy.settings_env import (
    DEPLOY,
    check_kam_command,
    check_settings_values,
    load_yaml_documents,
    unknown_kam_names,
)

K8S = DEPLOY / "k8s"
NAMESPACE = "kam-pulse"
WORKER_RSS_TARGET_BYTES = 300_000_000
DEPLOYMENTS = {"kam-worker": 2, "kam-sink": 1, "kam-notify": 1, "kam-ingest": 2, "kam-board": 1}
HTTP_SERVICES = {
    "kam-ingest": ("KAM_INGEST_", 8088, "/readyz"),
    "kam-board": ("KAM_BOARD_", 8480, "/healthz"),  # not ready without ClickHouse: no, 503 pages
}
"""Deployments that also serve HTTP (settings prefix, port, readiness path): probed on their
own /healthz (startup, liveness) and readiness path."""
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", value).groups()  # type: ignore[union-attr]
    return int(number) * _UNITS[unit]


@cache
def _load(path: Path) -> list[dict[str, Any]]:
    return load_yaml_documents(path)


def documents(*names: str) -> list[dict[str, Any]]:
    paths = [K8S / name for name in names] if names else sorted(K8S.glob("*.yaml"))
    return [doc for path in paths for doc in _load(path)]


def by_kind(kind: str, *names: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(*names) if d["kind"] == kind}


def pod_specs() -> dict[str, dict[str, Any]]:
    workloads = by_kind("Deployment") | by_kind("Job")
    return {name: doc["spec"]["template"]["spec"] for name, doc in workloads.items()}


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """What the container sees: envFrom sources (the Secret template's keys), then env."""
    configmaps = by_kind("ConfigMap")
    secrets = by_kind("Secret", "secret.example.yaml")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
        else:
            env.update(secrets[source["secretRef"]["name"]]["stringData"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def only_container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod["containers"]
    return container  # type: ignore[no-any-return]


def test_every_manifest_is_namespaced_and_kustomized() -> None:
    for doc in documents():
        if doc["kind"] in ("Kustomization", "Namespace"):
            continue
        assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {path.name for path in K8S.glob("*.yaml")}
    # The Secret template and the operator-only ServiceMonitor are applied by hand, on purpose.
    assert listed == on_disk - {"kustomization.yaml", "secret.example.yaml", "monitoring.yaml"}
    assert {image["name"] for image in kustomization["images"]} == {"kam-pulse"}


def test_deployments_and_replicas() -> None:
    deployments = by_kind("Deployment")
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == DEPLOYMENTS
    for doc in deployments.values():
        selector = doc["spec"]["selector"]["matchLabels"]
        assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()


def test_worker_replicas_share_one_app_id() -> None:
    (container,) = pod_specs()["kam-worker"]["containers"]
    assert "KAM_WORKER_APP_ID" not in {item["name"] for item in container.get("env", [])}
    assert container_env(container)["KAM_WORKER_APP_ID"] == "kam-pulse"


@pytest.mark.parametrize("name", sorted(pod_specs()))
def test_commands_are_kam_subcommands(name: str) -> None:
    container = only_container(pod_specs()[name])
    assert container["image"] == "kam-pulse:0.1.0"
    assert "command" not in container  # the image's entrypoint is `kam`
    check_kam_command(container["args"])


@pytest.mark.parametrize("name", sorted(pod_specs()))
def test_env_names_are_settings_fields_and_values_validate(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = container_env(only_container(pod_specs()[name]))
    assert unknown_kam_names(set(env)) == []
    check_settings_values(monkeypatch, env)


def test_secret_template_holds_no_real_secret() -> None:
    for secret in by_kind("Secret", "secret.example.yaml").values():
        assert "data" not in secret
        assert all(value.startswith("REPLACE_ME") for value in secret["stringData"].values())
    others = [path.name for path in K8S.glob("*.yaml") if path.name != "secret.example.yaml"]
    assert not [d for d in documents(*others) if d["kind"] == "Secret"]
    configmap = by_kind("ConfigMap")["kam-config"]["data"]
    assert not [key for key in configmap if "PASSWORD" in key or "SECRET" in key]


@pytest.mark.parametrize("name", sorted(pod_specs()))
def test_pods_are_hardened_and_without_service_links(name: str) -> None:
    pod = pod_specs()[name]
    assert pod["enableServiceLinks"] is False  # no <SERVICE>_PORT=tcp://... in the env
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = only_container(pod)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("name", sorted(pod_specs()))
def test_files_named_by_settings_are_mounted(name: str) -> None:
    pod = pod_specs()[name]
    container = only_container(pod)
    env = container_env(container)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    secrets = by_kind("Secret", "secret.example.yaml")
    env_secrets = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
    wanted = ["KAM_WORKER_DATA_DIR"] if name == "kam-worker" else []
    if "kam-kafka" in env_secrets:
        wanted.append("KAFKA_SSL_CAFILE")
    if "kam-clickhouse" in env_secrets:
        wanted.append("CLICKHOUSE_CA_CERT")
    assert "/tmp" in mounts
    for key in wanted:
        path = PurePosixPath(env[key])
        mount = next(m for m in mounts if path.is_relative_to(m))
        volume = volumes[mounts[mount]]
        if "secret" in volume:
            assert str(path.relative_to(mount)) in secrets[volume["secret"]["secretName"]][
                "stringData"
            ]


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_probes_use_the_metrics_endpoint_and_a_service_exposes_it(name: str) -> None:
    pod = pod_specs()[name]
    container = only_container(pod)
    env = container_env(container)
    port = int(env["KAM_METRICS_PORT"])
    metrics = {"name": "metrics", "containerPort": port, "protocol": "TCP"}
    probes = dict.fromkeys(("startupProbe", "livenessProbe", "readinessProbe"), "/metrics")
    expected_ports = [{"name": "metrics", "port": port, "targetPort": "metrics"}]
    if name in HTTP_SERVICES:
        prefix, http, ready = HTTP_SERVICES[name]
        assert int(env[prefix + "PORT"]) == http and env[prefix + "HOST"] == "0.0.0.0"
        assert container["ports"] == [
            {"name": "http", "containerPort": http, "protocol": "TCP"}, metrics,
        ]  # fmt: skip
        probes = {"startupProbe": "/healthz", "livenessProbe": "/healthz"}
        probes["readinessProbe"] = ready
        expected_ports.insert(0, {"name": "http", "port": http, "targetPort": "http"})
    else:
        assert container["ports"] == [metrics]
    for probe, path in probes.items():
        port_name = "metrics" if path == "/metrics" else "http"
        assert container[probe]["httpGet"] == {"path": path, "port": port_name}
    annotations = by_kind("Deployment")[name]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    service = by_kind("Service")[name]
    assert service["spec"]["selector"] == by_kind("Deployment")[name]["spec"]["selector"][
        "matchLabels"
    ]
    assert service["spec"]["ports"] == expected_ports


def test_service_names_are_the_prometheus_jobs_of_the_rules() -> None:
    rules = (DEPLOY / "prometheus" / "rules" / "kam-alerts.yml").read_text()
    assert 'up{job=~"kam-worker|kam-sink|kam-notify|kam-ingest|kam-board"}' in rules
    assert set(by_kind("Service")) == set(DEPLOYMENTS)
    (monitor,) = by_kind("ServiceMonitor", "monitoring.yaml").values()
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    for service in by_kind("Service").values():
        labels = service["metadata"]["labels"]
        assert labels[monitor["spec"]["jobLabel"]] == service["metadata"]["name"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("name", sorted(pod_specs()))
def test_resources_requests_within_limits(name: str) -> None:
    resources = only_container(pod_specs()[name])["resources"]
    for kind in ("cpu", "memory"):
        assert kind in resources["requests"] and kind in resources["limits"]
    assert quantity_bytes(resources["requests"]["memory"]) <= quantity_bytes(
        resources["limits"]["memory"]
    )


def test_worker_memory_matches_the_rss_target_and_its_alert() -> None:
    resources = only_container(pod_specs()["kam-worker"])["resources"]
    assert quantity_bytes(resources["requests"]["memory"]) == WORKER_RSS_TARGET_BYTES
    assert quantity_bytes(resources["limits"]["memory"]) > WORKER_RSS_TARGET_BYTES
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "kam-alerts.yml").read_text())
    (alert,) = [
        rule
        for group in rules["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "KamWorkerMemoryHigh"
    ]
    assert float(alert["expr"].rsplit(">", 1)[1]) == WORKER_RSS_TARGET_BYTES


def test_quantities() -> None:
    assert quantity_bytes("300M") == 300_000_000
    assert quantity_bytes("256Mi") == 268_435_456


def test_the_board_logs_in_with_the_token_of_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    container = only_container(pod_specs()["kam-board"])
    assert {"secretRef": {"name": "kam-board"}} in container["envFrom"]
    secret = by_kind("Secret", "secret.example.yaml")["kam-board"]["stringData"]
    assert set(secret) == {"KAM_BOARD_TOKEN"}
    check_settings_values(monkeypatch, container_env(container))
    # bound beyond loopback the board refuses to start without credentials: the Secret's are
    assert load_credentials(BoardSettings()).token_sha256 is not None
