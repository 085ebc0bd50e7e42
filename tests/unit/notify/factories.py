"""Hand-made alert states and configs shared by the notifier tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.accounts import AccountTier
from schemas.alerts import Alert, AlertStatus, Severity, alert_key
from schemas.touchpoints import ContactPoint
from sinks.notify.config import RoutingConfig

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def make_alert(
    account_id: str = "ACC-1",
    *,
    rule: str = "otif_below_target",
    contact_point: ContactPoint = ContactPoint.LOGISTICS,
    status: AlertStatus = AlertStatus.FIRING,
    severity: Severity = Severity.CRITICAL,
    tier: AccountTier = AccountTier.STRATEGIC,
    owner: str | None = "maria",
    team: str | None = "logistics-emea",
    minutes: float = 0,
    **extra: Any,
) -> Alert:
    """An alert state ``minutes`` after T0 (started at T0)."""
    fields: dict[str, Any] = {
        "alert_key": alert_key(account_id, contact_point, rule),
        "account_id": account_id,
        "account_name": f"Account {account_id}",
        "tier": tier,
        "kam_owner": owner,
        "kam_team": team,
        "contact_point": contact_point,
        "rule": rule,
        "severity": severity,
        "status": status,
        "summary": "OTIF is below target",
        "started_at": T0,
        "updated_at": T0 + timedelta(minutes=minutes),
    }
    fields.update(extra)
    return Alert(**fields)


def config(data: dict[str, Any]) -> RoutingConfig:
    return RoutingConfig.model_validate(data, context={"env": {}})


RECEIVERS: dict[str, Any] = {
    "slack": {"kind": "slack", "url": "http://127.0.0.1:1/hook", "channel": "@{kam_owner}",
              "fallback_channel": "#kam-unassigned"},
    "oncall": {"kind": "pagerduty", "url": "http://127.0.0.1:1/pd", "routing_key": "rk"},
    "am": {"kind": "alertmanager", "url": "http://127.0.0.1:1"},
    "digest": {"kind": "webhook", "url": "http://127.0.0.1:1/wh", "secret": "s3"},
}

ROUTED = config(
    {
        "defaults": {"group_wait": "30s", "repeat_interval": "4h"},
        "receivers": RECEIVERS,
        "routes": [
            {"name": "strategic-owner", "match": {"tier": "strategic"},
             "receivers": ["slack"], "continue": True},
            {"name": "strategic-oncall", "match": {"tier": "strategic", "severity": "critical",
             "kam_team": "logistics-emea"}, "receivers": ["oncall"]},
            {"name": "strategic-rest", "match": {"tier": "strategic"}, "receivers": []},
            {"name": "standard-digest", "match": {"tier": "standard", "severity": "warning"},
             "receivers": ["digest"], "group_by": "receiver", "group_wait": "24h"},
            {"name": "standard-nowhere", "match": {"tier": "standard"}, "receivers": []},
        ],
        "default_route": {"name": "default", "receivers": ["am"]},
    }
)
