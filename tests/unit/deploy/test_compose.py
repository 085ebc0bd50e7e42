"""deploy/compose.yaml: structure, and every KAM setting it passes is one the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kam.settings import BoardSettings
from sinks.board.auth import load_credentials
from tests.unit.deploy.settings_env import (
    DEPLOY,
    check_kam_command,
    check_settings_values,
    git_ignored,
    read_env_file,
    unknown_kam_names,
)

COMPOSE_FILE = DEPLOY / "compose.yaml"
KAM_IMAGE = "kam-pulse:local"
KAM_SERVICES = (
    "topics", "migrate", "worker", "sink", "notifier", "fairness", "ingest", "board",
)  # fmt: skip
LONG_RUNNING = ("worker", "sink", "notifier", "fairness", "ingest", "board")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]  # type: ignore[no-any-return]


def service_env(name: str) -> dict[str, str]:
    """What the container sees: env files in order, then ``environment``."""
    spec = service(name)
    env: dict[str, str] = {}
    for env_file in spec.get("env_file", []):
        env.update(read_env_file(DEPLOY / env_file))
    environment = spec.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({key: str(value) for key, value in environment.items()})
    return env


def test_the_expected_services_exist() -> None:
    assert set(compose()["services"]) == {
        "kafka", "clickhouse", "topics", "migrate", "worker", "sink", "notifier", "fairness",
        "ingest", "board",
        "prometheus", "alertmanager", "grafana",
    }  # fmt: skip


def test_kam_services_run_the_project_image_and_kafka_is_kraft_4() -> None:
    services = compose()["services"]
    assert sorted(n for n, s in services.items() if s.get("image") == KAM_IMAGE) == sorted(
        KAM_SERVICES
    )
    assert services["worker"]["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    broker = read_env_file(DEPLOY / "env" / "kafka-broker.env")
    assert broker["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert broker["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "INTERNAL://kafka:9092" in broker["KAFKA_ADVERTISED_LISTENERS"]


@pytest.mark.parametrize("name", KAM_SERVICES)
def test_kam_env_names_are_settings_fields(name: str) -> None:
    env = service_env(name)
    assert unknown_kam_names(set(env)) == []


@pytest.mark.parametrize("name", KAM_SERVICES)
def test_kam_env_values_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    check_settings_values(monkeypatch, service_env(name))


def test_every_kam_process_talks_to_the_compose_broker_and_the_sink_to_the_server() -> None:
    for name in KAM_SERVICES:
        assert service_env(name)["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    for name in ("sink", "migrate", "board"):
        env = service_env(name)
        assert (env["CLICKHOUSE_HOST"], env["CLICKHOUSE_PORT"]) == ("clickhouse", "8123")
        assert env["CLICKHOUSE_USERNAME"] == service("clickhouse")["environment"]["CLICKHOUSE_USER"]
        assert "CLICKHOUSE_PASSWORD" in env
    assert "CLICKHOUSE_HOST" not in service_env("worker")


@pytest.mark.parametrize("name", KAM_SERVICES)
def test_commands_are_kam_subcommands(name: str) -> None:
    check_kam_command(service(name)["command"])


def test_start_order() -> None:
    assert set(service("worker")["depends_on"]) == {"kafka", "topics"}
    assert service("worker")["depends_on"]["topics"] == {
        "condition": "service_completed_successfully"
    }
    assert service("sink")["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert service("migrate")["depends_on"]["clickhouse"] == {"condition": "service_healthy"}
    assert service("topics")["restart"] == "no"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_metrics_are_exposed_where_prometheus_scrapes(name: str) -> None:
    env = service_env(name)
    assert env["KAM_METRICS_HOST"] == "0.0.0.0"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    discovered = [
        (sd["names"], sd["port"])
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
    ]
    assert ([name], int(env["KAM_METRICS_PORT"])) in discovered
    assert env["KAM_METRICS_PORT"] in " ".join(service(name)["healthcheck"]["test"])


def test_secrets_are_files_that_git_ignores_with_committed_examples() -> None:
    spec = compose()
    paths = [Path(s["file"]) for s in spec["secrets"].values()]
    paths += [Path(f) for s in spec["services"].values() for f in s.get("env_file", [])]
    secret_paths = [p for p in paths if p.parts[0] == "secrets"]
    assert len(secret_paths) >= 6
    for path in secret_paths:
        assert git_ignored(DEPLOY / path), path
        assert (DEPLOY / path.parent / (path.name + ".example")).is_file(), path
    for path in paths:
        if path.parts[0] != "secrets":
            assert (DEPLOY / path).is_file(), path


def test_no_secret_is_inline() -> None:
    for name, spec in compose()["services"].items():
        env = spec.get("environment", {})
        for key in env:
            assert not any(word in key for word in ("PASSWORD", "SECRET", "KEY")) or key.endswith(
                "__FILE"
            ), (name, key)


def test_mounted_files_exist() -> None:
    for spec in compose()["services"].values():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source


def test_grafana_provisions_the_clickhouse_datasource_of_the_dashboard() -> None:
    provisioning = DEPLOY / "grafana-provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "clickhouse.yaml").read_text())
    (datasource,) = source["datasources"]
    dashboard = (DEPLOY / "grafana" / "kam-pulse.json").read_text()
    assert datasource["type"] == "grafana-clickhouse-datasource"
    assert f'"type": "{datasource["type"]}"' in dashboard
    assert datasource["jsonData"]["host"] == "clickhouse"
    assert datasource["secureJsonData"]["password"] == "${CLICKHOUSE_PASSWORD}"
    assert service("grafana")["environment"]["GF_PLUGINS_PREINSTALL_SYNC"] == datasource["type"]
    dashboards = yaml.safe_load((provisioning / "dashboards" / "kam.yaml").read_text())
    mount = next(v for v in service("grafana")["volumes"] if v.startswith("./grafana:"))
    assert mount.split(":")[1] == dashboards["providers"][0]["options"]["path"]


def test_the_board_listens_in_the_container_behind_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = service_env("board")
    port = env["KAM_BOARD_PORT"]
    assert env["KAM_BOARD_HOST"] == "0.0.0.0"
    assert service("board")["ports"] == [f"127.0.0.1:{port}:{port}"]  # the host's loopback only
    assert "secrets/board.env" in service("board")["env_file"]
    check_settings_values(monkeypatch, env)  # the environment is now the container's alone
    # bound beyond loopback the board refuses to start without credentials: these are usable
    assert load_credentials(BoardSettings()).token_sha256 is not None
    assert set(service("board")["depends_on"]) == {"kafka", "topics", "migrate"}
