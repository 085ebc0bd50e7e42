"""Receivers against real parts: Alertmanager (Debian binary) and local HTTP stand-ins for
Slack, PagerDuty and signed webhooks; retries, rejection and grouping."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from schemas.alerts import Alert, AlertStatus, Severity
from sinks.notify.delivery import DeliveryResult, deliver
from sinks.notify.dispatcher import Dispatcher
from sinks.notify.local import (
    RecordingServer,
    Reply,
    alertmanager_binary,
    local_alertmanager,
)
from sinks.notify.receivers import build_receivers
from sinks.notify.records import undeliverable_record
from sinks.notify.render import render_batch
from sinks.notify.signing import verify
from tests.unit.notify.factories import T0, config, make_alert

BOARD = "https://board.example.com/kam"
"""The board's base URL the notifications of these tests link to."""
FAST = {
    "max_attempts": 3,
    "initial_backoff": "10ms",
    "max_backoff": "50ms",
    "multiplier": 2.0,
    "timeout": "1s",
}


def _deliver(
    receiver: dict[str, Any], alerts: list[Alert], *, policy: dict[str, Any] = FAST
) -> tuple[list[DeliveryResult], list[float]]:
    """Group the alerts (window 0) to receiver ``r`` and deliver every batch; also the sleeps."""
    routing = config(
        {
            "receivers": {"r": receiver},
            "delivery": policy,
            "defaults": {"group_wait": "0s"},
            "default_route": {"name": "default", "receivers": ["r"]},
        }
    )
    dispatcher = Dispatcher(config=routing)
    now = datetime.now(UTC)
    for alert in alerts:
        dispatcher.offer(alert, now=now)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> bool:
        sleeps.append(seconds)
        await asyncio.sleep(seconds)
        return True

    async def run() -> list[DeliveryResult]:
        async with aiohttp.ClientSession() as session:
            target = build_receivers(routing, session=session)["r"]
            return [
                await deliver(
                    target,
                    batch,
                    render_batch(batch, routing, board_url=BOARD),
                    policy=routing.delivery,
                    sleep=sleep,
                )
                for batch in dispatcher.due(now)
            ]

    return asyncio.run(run()), sleeps


# --- Alertmanager ------------------------------------------------------------------------------
def _am_alerts(url: str, alert_key: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"filter": f'alert_key="{alert_key}"'})
    with urllib.request.urlopen(f"{url}/api/v2/alerts?{query}", timeout=5) as response:
        return json.loads(response.read())


def _poll(check: Any, *, tries: int = 60, pause: float = 0.25) -> Any:
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(pause)
    return check()


@pytest.mark.skipif(
    alertmanager_binary() is None,
    reason="prometheus-alertmanager is not installed "
    "(apt-get update && apt-get install -y prometheus-alertmanager)",
)
def test_alertmanager_shows_fire_and_resolve() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    firing = make_alert(
        evidence={"kpi": "otif", "value": 0.8, "threshold": 0.95},
        started_at=now - timedelta(minutes=10),
        updated_at=now,
    )
    resolved = firing.model_copy(
        update={"status": AlertStatus.RESOLVED, "updated_at": now + timedelta(seconds=1)}
    )
    with RecordingServer() as hooks, local_alertmanager(webhook_url=f"{hooks.url}/am") as url:
        receiver = {"kind": "alertmanager", "url": url}
        assert [r.outcome for r in _deliver(receiver, [firing])[0]] == ["delivered"]
        (shown,) = _poll(lambda: _am_alerts(url, firing.alert_key))
        assert shown["labels"] == {
            "alertname": "otif_below_target",
            "alert_key": "ACC-1:logistics:otif_below_target",
            "account_id": "ACC-1",
            "tier": "strategic",
            "contact_point": "logistics",
            "severity": "critical",
            "kam_owner": "maria",
            "kam_team": "logistics-emea",
            "source": "kam-pulse",
        }
        assert shown["annotations"]["evidence"] == "otif 0.8 vs threshold 0.95"
        assert shown["annotations"]["account_url"] == f"{BOARD}/accounts/ACC-1"
        assert shown["status"]["state"] == "active"
        started = firing.started_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert (shown["startsAt"], shown["endsAt"]) == (
            started,
            (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        first = hooks.wait_for(1)[0].json()
        assert (first["status"], first["alerts"][0]["labels"]["account_id"]) == ("firing", "ACC-1")

        assert [r.outcome for r in _deliver(receiver, [resolved])[0]] == ["delivered"]
        assert _poll(lambda: _am_alerts(url, firing.alert_key) == []) is True
        notified = _poll(
            lambda: [r.json() for r in hooks.requests if r.json()["status"] == "resolved"]
        )
        assert notified[0]["alerts"][0]["labels"]["alert_key"] == firing.alert_key
        assert notified[0]["alerts"][0]["status"] == "resolved"


# --- Slack, PagerDuty, webhook -------------------------------------------------------------
def test_slack_gets_one_message_per_account_group() -> None:
    alerts = [make_alert(rule=rule, severity=Severity.WARNING) for rule in ("a", "b", "c")]
    alerts.append(make_alert("ACC-2", owner="li"))
    with RecordingServer() as slack:
        receiver = {
            "kind": "slack",
            "url": f"{slack.url}/services/T0/B0/XYZ",
            "channel": "@{kam_owner}",
            "username": "KAM Pulse",
        }
        results, _ = _deliver(receiver, alerts)
        bodies = [request.json() for request in slack.requests]
    assert [r.outcome for r in results] == ["delivered", "delivered"]
    assert [(b["channel"], b["username"], len(b["blocks"])) for b in bodies] == [
        ("@maria", "KAM Pulse", 4),
        ("@li", "KAM Pulse", 2),
    ]
    assert bodies[0]["text"] == (
        "KAM Pulse: 3 alerts (3 firing, 0 resolved) for Account ACC-1 (ACC-1, strategic)"
    )
    assert bodies[1]["blocks"][1]["text"]["text"].splitlines()[:2] == [
        "*[FIRING] Account ACC-2 (ACC-2, strategic) - logistics: OTIF is below target*",
        "Account: Account ACC-2 (ACC-2, strategic), owner li, team logistics-emea",
    ]
    assert [b["accessory"]["url"] for body in bodies for b in body["blocks"][1:]] == [
        f"{BOARD}/accounts/ACC-1", f"{BOARD}/accounts/ACC-1", f"{BOARD}/accounts/ACC-1",
        f"{BOARD}/accounts/ACC-2",
    ]


def test_pagerduty_retries_429_and_500_then_accepts() -> None:
    script = [Reply(429, (("Retry-After", "1"),)), Reply(500), Reply(202, body=b"{}")]
    firing = make_alert(minutes=5)
    with RecordingServer(script=script) as pd:
        receiver = {"kind": "pagerduty", "url": f"{pd.url}/v2/enqueue", "routing_key": "R" * 32}
        results, sleeps = _deliver(receiver, [firing])
        events = [request.json() for request in pd.requests]
    assert [(r.outcome, r.attempts) for r in results] == [("delivered", 3)]
    assert sleeps == [0.05, 0.02]
    assert events[0] == events[2]
    assert events[0] == {
        "routing_key": "R" * 32,
        "event_action": "trigger",
        "dedup_key": "ACC-1:logistics:otif_below_target",
        "payload": {
            "summary": (
                "[FIRING] Account ACC-1 (ACC-1, strategic) - logistics: OTIF is below target"
            ),
            "source": "Account ACC-1 (ACC-1, strategic)",
            "severity": "critical",
            "timestamp": "2026-11-27T09:05:00+00:00",
            "component": "logistics",
            "class": "otif_below_target",
            "group": "logistics-emea",
            "custom_details": {
                "account_id": "ACC-1",
                "account_name": "Account ACC-1",
                "tier": "strategic",
                "kam_owner": "maria",
                "kam_team": "logistics-emea",
                "what_happened": "OTIF is below target",
                "since": T0.isoformat(),
                "account_url": f"{BOARD}/accounts/ACC-1",
            },
        },
        "links": [{"href": f"{BOARD}/accounts/ACC-1", "text": "Account page"}],
    }


def test_pagerduty_resolve_and_invalid_is_not_retried() -> None:
    resolved = make_alert(minutes=5, status=AlertStatus.RESOLVED)
    with RecordingServer(default=Reply(400, body=b'{"status":"invalid event"}')) as pd:
        receiver = {"kind": "pagerduty", "url": f"{pd.url}/v2/enqueue", "routing_key": "rk"}
        (result,), sleeps = _deliver(receiver, [resolved])
        (event,) = [request.json() for request in pd.requests]
    assert event == {
        "routing_key": "rk",
        "event_action": "resolve",
        "dedup_key": "ACC-1:logistics:otif_below_target",
    }
    assert (result.outcome, result.attempts, result.status, sleeps) == ("rejected", 1, 400, [])
    assert result.error == 'receiver r: HTTP 400 {"status":"invalid event"}'


def test_webhook_is_signed_and_verifiable() -> None:
    alerts = [make_alert(), make_alert(rule="late", minutes=1)]
    with RecordingServer() as hook:
        receiver = {"kind": "webhook", "url": f"{hook.url}/kam", "secret": "whsec-1"}
        results, _ = _deliver(receiver, alerts)
        (request,) = hook.requests
    assert results[0].outcome == "delivered"
    headers = request.headers
    assert verify(
        b"whsec-1",
        timestamp=headers["X-KAM-Timestamp"],
        signature=headers["X-KAM-Signature"],
        body=request.body,
        now=time.time(),
    )
    assert not verify(
        b"other",
        timestamp=headers["X-KAM-Timestamp"],
        signature=headers["X-KAM-Signature"],
        body=request.body,
        now=time.time(),
    )
    body = request.json()
    assert headers["X-KAM-Notification-Id"] == body["notification_id"]
    assert results[0].batch.notification_id == body["notification_id"]
    assert [a["dedup_key"] for a in body["alerts"]] == [
        "ACC-1:logistics:otif_below_target|firing|2026-11-27T09:00:00.000000+00:00",
        "ACC-1:logistics:late|firing|2026-11-27T09:01:00.000000+00:00",
    ]
    assert (body["receiver"], body["group_key"], body["version"]) == ("r", "ACC-1", 1)
    assert [a["account_url"] for a in body["alerts"]] == [f"{BOARD}/accounts/ACC-1"] * 2
    assert body["alerts"][0]["text"].endswith(f"Account page: {BOARD}/accounts/ACC-1")


def test_always_500_becomes_an_undeliverable_record_without_secrets() -> None:
    with RecordingServer(default=Reply(503, body=b"down")) as hook:
        receiver = {"kind": "webhook", "url": f"{hook.url}/secret-token-path", "secret": "s"}
        (result,), sleeps = _deliver(receiver, [make_alert()])
        assert len(hook.requests) == 3
    assert (result.outcome, result.attempts, sleeps) == ("retries_exhausted", 3, [0.01, 0.02])
    record = undeliverable_record(result, receiver_kind="webhook")
    assert (record.reason, record.last_status, record.last_error) == (
        "retries_exhausted",
        503,
        "receiver r: HTTP 503 down",
    )
    assert record.alert_keys == ["ACC-1:logistics:otif_below_target"]
    assert "secret-token" not in record.model_dump_json()


def test_timeout_and_refused_connection_are_retryable() -> None:
    with RecordingServer(default=Reply(200, delay=1.5)) as slow:
        receiver = {"kind": "slack", "url": slow.url}
        policy = {**FAST, "max_attempts": 2, "timeout": "200ms"}
        (result,), _ = _deliver(receiver, [make_alert()], policy=policy)
    assert (result.outcome, result.attempts) == ("retries_exhausted", 2)
    assert result.error == "receiver r: timed out after 0.2s"
    closed = {"kind": "slack", "url": "http://127.0.0.1:9/hook"}
    (result,), _ = _deliver(closed, [make_alert()])
    assert (result.outcome, result.attempts) == ("retries_exhausted", 3)
    assert result.error == "receiver r: ClientConnectorError"
