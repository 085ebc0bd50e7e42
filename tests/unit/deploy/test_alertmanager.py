"""deploy/alertmanager/alertmanager.yml: amtool validation, routing by tier/team, secret files."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.unit.deploy.settings_env import DEPLOY

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(
    AMTOOL is None,
    reason="amtool not installed (Debian package `prometheus-alertmanager`; `make system-deps`)",
)
ACCOUNT = "source=kam-pulse alertname=otif_drop account_id=ACME"
STRATEGIC = f"{ACCOUNT} tier=strategic"
PLATFORM = "team=kam-platform job=kam-sink"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_amtool
def test_amtool_check_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (f"{STRATEGIC} severity=critical kam_team=logistics-emea", "kam-logistics-pager"),
        (f"{STRATEGIC} severity=critical kam_team=support-emea", "kam-support-pager"),
        (f"{STRATEGIC} severity=critical kam_team=sales-emea", "kam-accounts-chat"),
        (f"{STRATEGIC} severity=warning kam_team=logistics-emea", "kam-accounts-chat"),
        (f"{ACCOUNT} tier=key severity=critical kam_team=logistics-emea", "kam-accounts-chat"),
        (f"{ACCOUNT} tier=standard severity=warning", "kam-accounts-chat"),
        (f"{ACCOUNT} tier=standard severity=info", "blackhole"),
        (f"{ACCOUNT} tier=unknown severity=critical", "blackhole"),
        (f"{PLATFORM} alertname=KamSinkBackpressure severity=critical", "platform-pager"),
        (f"{PLATFORM} alertname=KamSinkInsertErrors severity=warning", "platform-chat"),
        ("alertname=SomethingElse", "platform-chat"),
    ],
)
def test_routing(labels: str, receiver: str) -> None:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_secret_files_are_the_docker_secrets_given_to_alertmanager() -> None:
    used = set(re.findall(r"/run/secrets/(\w+)", CONFIG.read_text()))
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert used == set(compose["services"]["alertmanager"]["secrets"])
    assert used <= set(compose["secrets"])


def test_platform_alert_labels_are_routed() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "kam-alerts.yml").read_text())
    teams = {rule["labels"]["team"] for group in rules["groups"] for rule in group["rules"]}
    routed = " ".join(m for route in config["route"]["routes"] for m in route["matchers"])
    assert {f'team="{team}"' for team in teams} <= set(routed.split())
