"""Notification text: account, contact point, plain words, evidence, since when, runbook."""

from __future__ import annotations

from datetime import timedelta

from schemas.alerts import AlertStatus, Severity
from sinks.notify.dispatcher import Dispatcher
from sinks.notify.render import render_alert, render_batch
from tests.unit.notify.factories import ROUTED, T0, config, make_alert

CONFIG = config(
    {
        "defaults": {"runbook_url": "https://runbooks.example.com/kam/{contact_point}/{rule}"},
        "rules": {
            "otif_below_target": {"description": "Deliveries on time and in full fell."},
            "late": {"runbook_url": "https://runbooks.example.com/late?account={account_id}"},
        },
    }
)


def test_firing_alert_in_plain_words() -> None:
    alert = make_alert(
        minutes=125,
        evidence={"transition": "new", "kind": "threshold", "kpi": "otif", "window": "7d",
                  "value": 0.8234, "direction": "below", "threshold": 0.95, "previous": 0.9,
                  "trend": "worse", "latest": {"order_id": "O-1", "late_days": 2}},
        event_ids=[f"e{i}" for i in range(7)],
    )
    assert render_alert(alert, CONFIG).text == "\n".join([
        "[FIRING] Account ACC-1 (ACC-1, strategic) - logistics: OTIF is below target",
        "Account: Account ACC-1 (ACC-1, strategic), owner maria, team logistics-emea",
        "Contact point: logistics (rule otif_below_target, critical)",
        "What happened: OTIF is below target. Deliveries on time and in full fell.",
        "Evidence: otif 0.8234 vs threshold 0.95, previously 0.9, trend worse, "
        "latest (late_days 2, order_id O-1), transition new, window 7d; "
        "events e0, e1, e2, e3, e4 (+2 more)",
        "Since: 2026-11-27 09:00 UTC (2h 5m so far)",
        "Runbook: https://runbooks.example.com/kam/logistics/otif_below_target",
    ])


def test_resolved_alert_without_owner_and_rule_runbook() -> None:
    alert = make_alert("ACC 9", rule="late", minutes=30, status=AlertStatus.RESOLVED,
                       owner=None, team=None, account_name=None, event_ids=["e1"])
    rendered = render_alert(alert, CONFIG)
    assert rendered.lines == (
        "Account: ACC 9 (strategic), owner unassigned",
        "Contact point: logistics (rule late, critical)",
        "What happened: OTIF is below target",
        "Evidence: events e1",
        "Resolved: 2026-11-27 09:30 UTC after 30m",
        "Runbook: https://runbooks.example.com/late?account=ACC%209",
    )
    assert rendered.title == "[RESOLVED] ACC 9 (strategic) - logistics: OTIF is below target"


def test_batch_title_counts_alerts() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    dispatcher.offer(make_alert(severity=Severity.WARNING), now=T0)
    dispatcher.offer(make_alert(rule="late", severity=Severity.WARNING), now=T0)
    dispatcher.offer(make_alert(rule="csat", severity=Severity.WARNING,
                                status=AlertStatus.RESOLVED, minutes=1), now=T0)
    (batch,) = dispatcher.due(T0 + timedelta(minutes=1))
    message = render_batch(batch, CONFIG)
    assert message.title == (
        "KAM Pulse: 3 alerts (2 firing, 1 resolved) for Account ACC-1 (ACC-1, strategic)"
    )
    assert message.text.count("\n\n") == 2
    assert [a.title.split("]")[0] for a in message.alerts] == ["[FIRING", "[FIRING", "[RESOLVED"]
