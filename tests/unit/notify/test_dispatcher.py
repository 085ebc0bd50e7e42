"""Grouping per account, dedup of alert states and snoozes, through the pure dispatcher."""

from __future__ import annotations

from datetime import timedelta

from schemas.accounts import AccountTier
from schemas.alerts import AlertStatus, Severity
from sinks.notify.dedup import bounded_key, notification_key
from sinks.notify.dispatcher import Dispatcher
from sinks.notify.grouping import MessageRef
from sinks.notify.snooze import Snooze, snooze_key
from tests.unit.notify.factories import ROUTED, T0, make_alert

SECOND = timedelta(seconds=1)


def _snooze(rule: str | None = None, hours: int = 2) -> Snooze:
    return Snooze(account_id="ACC-1", rule=rule, until=T0 + timedelta(hours=hours),
                  reason="customer visit", created_at=T0)


def test_alerts_of_one_account_within_the_window_make_one_batch() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    rules = ["otif_below_target", "late_deliveries", "damaged_shipments"]
    for i, rule in enumerate(rules):
        ref = MessageRef("kam.alerts", 0, i)
        decision = dispatcher.offer(make_alert(rule=rule, severity=Severity.WARNING),
                                    now=T0 + i * SECOND, ref=ref)
        assert decision.outcome == "queued"
    dispatcher.offer(make_alert("ACC-2", severity=Severity.WARNING), now=T0 + 5 * SECOND)
    assert dispatcher.due(T0 + 29 * SECOND) == []
    (batch,) = dispatcher.due(T0 + 30 * SECOND)
    assert (batch.receiver, batch.channel, batch.group_key) == ("slack", "@maria", "ACC-1")
    assert [alert.rule for alert in batch.alerts] == rules
    assert batch.refs == tuple(MessageRef("kam.alerts", 0, i) for i in range(3))
    assert [b.group_key for b in dispatcher.due(T0 + 35 * SECOND)] == ["ACC-2"]
    assert dispatcher.open_groups == 0


def test_digest_groups_all_accounts_of_a_receiver() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    for account in ("S-1", "S-2", "S-3"):
        dispatcher.offer(make_alert(account, tier=AccountTier.STANDARD,
                                    severity=Severity.WARNING), now=T0)
    assert dispatcher.next_due() == T0 + timedelta(hours=24)
    (batch,) = dispatcher.due(T0 + timedelta(hours=24))
    assert (batch.receiver, batch.group_key) == ("digest", "*")
    assert [alert.account_id for alert in batch.alerts] == ["S-1", "S-2", "S-3"]


def test_newer_state_replaces_older_in_an_open_group() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    dispatcher.offer(make_alert(severity=Severity.WARNING), now=T0,
                     ref=MessageRef("t", 0, 7))
    dispatcher.offer(make_alert(severity=Severity.WARNING, status=AlertStatus.RESOLVED,
                                minutes=0.1), now=T0 + SECOND, ref=MessageRef("t", 0, 8))
    (batch,) = dispatcher.due(T0 + timedelta(minutes=1))
    assert [alert.status for alert in batch.alerts] == [AlertStatus.RESOLVED]
    assert [ref.offset for ref in batch.refs] == [7, 8]


def test_duplicates_stale_and_repeats_are_dropped() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    assert dispatcher.offer(make_alert(minutes=10), now=T0).outcome == "queued"
    assert dispatcher.offer(make_alert(minutes=10), now=T0).outcome == "duplicate"
    assert dispatcher.offer(make_alert(minutes=5), now=T0).outcome == "stale"
    assert dispatcher.offer(make_alert(minutes=20), now=T0).outcome == "repeat"
    later = T0 + timedelta(hours=4)
    assert dispatcher.offer(make_alert(minutes=30), now=later).outcome == "queued"
    resolved = make_alert(minutes=40, status=AlertStatus.RESOLVED)
    assert dispatcher.offer(resolved, now=later).outcome == "queued"


def test_severity_escalation_notifies_again() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    dispatcher.offer(make_alert(severity=Severity.WARNING), now=T0)
    decision = dispatcher.offer(make_alert(minutes=1), now=T0)
    assert decision.outcome == "queued"
    assert [t.receiver for t in decision.targets] == ["slack", "oncall"]


def test_nowhere_route() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    alert = make_alert(tier=AccountTier.STANDARD, severity=Severity.INFO)
    assert dispatcher.offer(alert, now=T0).outcome == "no_route"
    assert dispatcher.open_groups == 0


def test_account_snooze_until_a_time() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    snooze = _snooze()
    dispatcher.snoozes.apply(snooze.key, snooze)
    decision = dispatcher.offer(make_alert(), now=T0)
    assert (decision.outcome, decision.snooze) == ("snoozed", snooze)
    resolved = make_alert(minutes=10, status=AlertStatus.RESOLVED)
    assert dispatcher.offer(resolved, now=T0).outcome == "snoozed"
    expired = make_alert(minutes=130)
    assert dispatcher.offer(expired, now=T0 + timedelta(hours=2)).outcome == "queued"


def test_rule_snooze_leaves_other_rules_and_accounts() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    snooze = _snooze(rule="otif_below_target")
    dispatcher.snoozes.apply(snooze.key, snooze)
    assert dispatcher.offer(make_alert(), now=T0).outcome == "snoozed"
    assert dispatcher.offer(make_alert(rule="late"), now=T0).outcome == "queued"
    assert dispatcher.offer(make_alert("ACC-2"), now=T0).outcome == "queued"


def test_tombstone_lifts_a_snooze() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    snooze = _snooze()
    dispatcher.snoozes.apply(snooze.key, snooze)
    dispatcher.snoozes.apply(snooze_key("ACC-1", None), None)
    assert dispatcher.offer(make_alert(), now=T0).outcome == "queued"


def test_resolve_of_a_notified_alert_passes_a_later_snooze() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    assert dispatcher.offer(make_alert(), now=T0).outcome == "queued"
    snooze = _snooze()
    dispatcher.snoozes.apply(snooze.key, snooze)
    resolved = make_alert(minutes=5, status=AlertStatus.RESOLVED)
    assert dispatcher.offer(resolved, now=T0).outcome == "queued"


def test_resolve_of_a_never_notified_alert_is_dropped() -> None:
    dispatcher = Dispatcher(config=ROUTED)
    snooze = _snooze(hours=1)
    dispatcher.snoozes.apply(snooze.key, snooze)
    dispatcher.offer(make_alert(), now=T0)
    resolved = make_alert(minutes=90, status=AlertStatus.RESOLVED)
    later = T0 + timedelta(minutes=90)
    assert dispatcher.offer(resolved, now=later).outcome == "never_notified"


def test_dedup_keys() -> None:
    alert = make_alert(minutes=1.5)
    assert notification_key(alert) == (
        "ACC-1:logistics:otif_below_target|firing|2026-11-27T09:01:30.000000+00:00"
    )
    assert bounded_key("k" * 255) == "k" * 255
    long = bounded_key("k" * 256)
    assert long.startswith("sha256:") and len(long) == 71
    assert bounded_key("k" * 256) == long
