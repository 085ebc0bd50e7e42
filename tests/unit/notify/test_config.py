"""Loading and validating the routing config (TOML + env secrets)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sinks.notify.config import load_routing_config, parse_duration
from sinks.notify.exceptions import RoutingConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "routing.toml"
EXAMPLE_ENV = {
    "KAM_NOTIFY_SLACK_WEBHOOK_URL": "https://hooks.example.com/T000/B000/topsecret",
    "KAM_NOTIFY_PD_LOGISTICS_KEY": "pd-logistics-key",
    "KAM_NOTIFY_PD_SUPPORT_KEY": "pd-support-key",
    "KAM_NOTIFY_ALERTMANAGER_URL": "http://127.0.0.1:9093",
    "KAM_NOTIFY_DIGEST_WEBHOOK_URL": "https://digest.example.com/kam",
    "KAM_NOTIFY_DIGEST_WEBHOOK_SECRET": "digest-secret",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("24h", 86400), ("1d", 86400), ("500ms", 0.5), (12, 12)],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_example_config_loads_with_secrets_from_env() -> None:
    config = load_routing_config(EXAMPLE, env=EXAMPLE_ENV)
    slack = config.receivers["owner-slack"]
    assert slack.url.get_secret_value() == EXAMPLE_ENV["KAM_NOTIFY_SLACK_WEBHOOK_URL"]
    assert "topsecret" not in repr(config)
    assert [route.name for route in config.routes][:3] == [
        "kam-director", "strategic-owner", "strategic-logistics-oncall",
    ]
    assert config.routes[0].continue_ is False  # the director's portfolio alerts go nowhere else
    assert config.routes[1].continue_ is True
    assert config.defaults.group_wait == timedelta(seconds=30)
    assert config.default_route.receivers == ["alertmanager"]


def test_missing_secret_names_the_variable_only() -> None:
    env = {key: value for key, value in EXAMPLE_ENV.items() if "SLACK" not in key}
    with pytest.raises(RoutingConfigError, match="KAM_NOTIFY_SLACK_WEBHOOK_URL"):
        load_routing_config(EXAMPLE, env=env)


def test_invalid_values_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(
        '[receivers.hook]\nkind = "webhook"\nurl = "https://x.example/hook"\n'
        'secret = "topsecret"\nunexpected = "topsecret-too"\n'
    )
    with pytest.raises(RoutingConfigError) as failure:
        load_routing_config(path, env={})
    assert "topsecret" not in str(failure.value)
    assert "unexpected" in str(failure.value)


def test_unknown_receiver_in_route(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text('[[routes]]\nname = "r"\nreceivers = ["ghost"]\n')
    with pytest.raises(RoutingConfigError, match=r"unknown receivers \['ghost'\]"):
        load_routing_config(path, env={})


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text("[receivers\n")
    with pytest.raises(RoutingConfigError, match="not valid TOML"):
        load_routing_config(path, env={})
