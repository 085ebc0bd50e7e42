"""Alert lifecycle: fire, hold, update, repeat, resolve, re-fire; tiers; persistence.

Clock: ``at(h)`` is T0 + h hours of processing time. Lifecycle: repeat 4 h, updates paced at
30 min, event-level alerts resolve after 24 h without a new bad event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas import (
    AccountContext,
    AccountTier,
    Alert,
    AlertStatus,
    ContactPoint,
    EnrichedTouchpoint,
    Severity,
)
from streams.alerting import AlertBook, AlertStateError, KpiSnapshot, parse_alert_rules
from tests.unit.streams.test_alert_events import T0, delivery

CONFIG = parse_alert_rules(
    """
    [lifecycle]
    repeat_interval_hours = 4
    update_interval_minutes = 30
    event_quiet_period_hours = 24
    max_event_age_hours = 72
    max_event_ids = 3

    [[tiers.strategic.thresholds]]
    kpi = "otif"
    window = "7d"
    direction = "below"
    threshold = 0.95
    critical = 0.85
    hysteresis = 0.01

    [[tiers.strategic.drops]]
    kpi = "experience_score"
    window = "24h"
    baseline_window = "30d"
    max_drop = 10
    hysteresis = 2

    [tiers.strategic.silence]
    days = 30

    [tiers.key]
    """
)
STRATEGIC = AccountContext(
    tier=AccountTier.STRATEGIC, name="Acme GmbH", kam_owner="ana", kam_team="kam-dach"
)
LATE = "ACME:logistics:late_delivery"
OTIF = "ACME:logistics:otif_below_7d"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def late(event_id: str, hours_late: float = 1.0) -> EnrichedTouchpoint:
    return enriched(delivery(late=timedelta(hours=hours_late)), event_id=event_id)


def enriched(
    event: Any, *, event_id: str, account: AccountContext = STRATEGIC
) -> EnrichedTouchpoint:
    return EnrichedTouchpoint(
        event=event.model_copy(update={"event_id": event_id}), account=account, processed_at=T0
    )


def otif(value: float | None, *, hours: float, account: AccountContext = STRATEGIC) -> KpiSnapshot:
    return KpiSnapshot(
        account_id="ACME",
        account=account,
        contact_point=ContactPoint.LOGISTICS,
        window="7d",
        values={"otif": value},
        as_of=at(hours),
    )


def view(alert: Alert) -> tuple[str, str, str, str]:
    return alert.alert_key, alert.status.value, alert.evidence["transition"], alert.severity.value


def test_event_alert_lifecycle() -> None:
    book = AlertBook(config=CONFIG)
    # 13:00 a delivery arrives one hour late: a new alert, with the account's people on it.
    [first] = book.evaluate(now=at(5), events=[late("E1")])
    assert first == Alert(
        alert_key=LATE,
        account_id="ACME",
        account_name="Acme GmbH",
        tier=AccountTier.STRATEGIC,
        kam_owner="ana",
        kam_team="kam-dach",
        contact_point=ContactPoint.LOGISTICS,
        rule="late_delivery",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        summary="Shipment S1 delivered 1 h late",
        evidence={
            "transition": "new",
            "kind": "event",
            "bad_events": 1,
            "latest": {
                "shipment_id": "S1",
                "delay_minutes": 60.0,
                "promised_at": "2026-03-02T12:00:00+00:00",
                "delivered_at": "2026-03-02T13:00:00+00:00",
            },
        },
        event_ids=["E1"],
        started_at=at(5),
        updated_at=at(5),
    )
    # 15 min later a second late delivery: held back, the update pace is 30 min.
    assert book.evaluate(now=at(5.25), events=[late("E2")]) == []
    # The redelivered E2 counts once.
    assert book.evaluate(now=at(5.4), events=[late("E2")]) == []
    # 13:30: nothing new arrives, but the held evidence goes out as an update.
    [update] = book.evaluate(now=at(5.5))
    assert view(update) == (LATE, "firing", "updated", "warning")
    assert update.summary == "Shipment S1 delivered 1 h late (2 times since 2026-03-02 13:00 UTC)"
    assert (update.event_ids, update.evidence["bad_events"]) == (["E1", "E2"], 2)
    assert (update.started_at, update.updated_at) == (at(5), at(5.5))
    # No repeat while firing ...
    assert book.evaluate(now=at(9.4)) == []
    # ... until 4 h after the last notification.
    [repeat] = book.evaluate(now=at(9.5))
    assert view(repeat) == (LATE, "firing", "repeat", "warning")
    # 5 min before the quiet period ends the alert is still firing (and due for a repeat).
    [still] = book.evaluate(now=at(29 + 1 / 6))
    assert view(still) == (LATE, "firing", "repeat", "warning")
    # 24 h after the last bad event was seen at 5.25 h (the redelivery at 5.4 h does not count).
    [resolved] = book.evaluate(now=at(29.25))
    assert view(resolved) == (LATE, "resolved", "resolved", "warning")
    assert resolved.evidence["reason"] == "quiet_period"
    assert (
        resolved.summary
        == "No new bad experience for 24 h: resolved (2 since 2026-03-02 13:00 UTC)"
    )
    assert (resolved.started_at, resolved.updated_at) == (at(5), at(29.25))
    assert len(book) == 0
    # A new late delivery after the resolve fires again, with a new start.
    late_again = enriched(delivery(late=timedelta(hours=27)), event_id="E3")
    [again] = book.evaluate(now=at(31.5), events=[late_again])
    assert view(again) == (LATE, "firing", "new", "critical")
    assert again.started_at == at(31) and again.event_ids == ["E3"]


def test_worse_severity_updates_at_once_and_evidence_is_bounded() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(5), events=[late("E1")])
    [update] = book.evaluate(now=at(5.1), events=[late("E2"), late("E3", hours_late=30)])
    assert view(update) == (LATE, "firing", "updated", "critical")
    assert update.summary == "Shipment S1 delivered 30 h late (3 times since 2026-03-02 13:00 UTC)"
    [update] = book.evaluate(now=at(6), events=[late("E4"), late("E5")])
    assert view(update) == (LATE, "firing", "updated", "critical")  # severity only goes up
    assert (update.event_ids, update.evidence["bad_events"]) == (["E3", "E4", "E5"], 5)


def test_a_bad_event_after_the_quiet_period_resolves_and_refires_in_one_batch() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(5), events=[late("E1")])
    alerts = book.evaluate(now=at(30), events=[late("E2")])
    assert [view(alert) for alert in alerts] == [
        (LATE, "resolved", "resolved", "warning"),
        (LATE, "firing", "new", "warning"),
    ]
    assert alerts[1].event_ids == ["E2"]


def test_one_delivery_raises_one_alert_per_broken_rule() -> None:
    book = AlertBook(config=CONFIG)
    event = enriched(delivery(late=timedelta(hours=2), delivered=8), event_id="E1")
    alerts = book.evaluate(now=at(6), events=[event])
    assert [alert.alert_key for alert in alerts] == [LATE, "ACME:logistics:short_delivery"]


@pytest.mark.parametrize("tier", [AccountTier.STANDARD, AccountTier.UNKNOWN])
def test_non_alerting_tiers_never_alert(tier: AccountTier) -> None:
    book = AlertBook(config=CONFIG)
    account = AccountContext(tier=tier, name="Small Ltd")
    assert (
        book.evaluate(
            now=at(5), events=[enriched(late("E1").event, event_id="E1", account=account)]
        )
        == []
    )
    assert book.evaluate(now=at(5), snapshots=[otif(0.5, hours=5, account=account)]) == []
    assert len(book) == 0 and book.drain_changes() == {}


def test_key_tier_alerts_on_events_with_its_own_rules_and_on_no_kpi() -> None:
    book = AlertBook(config=CONFIG)
    key = AccountContext(tier=AccountTier.KEY, name="Beta SA")
    [alert] = book.evaluate(
        now=at(5), events=[enriched(late("E1").event, event_id="E1", account=key)]
    )
    assert (alert.tier, alert.account_name, alert.kam_owner) == (AccountTier.KEY, "Beta SA", None)
    assert book.evaluate(now=at(5), snapshots=[otif(0.5, hours=5, account=key)]) == []


def test_old_events_are_not_alerted() -> None:
    book = AlertBook(config=CONFIG)
    assert book.evaluate(now=at(5 + 72.5), events=[late("E1")]) == []
    [alert] = book.evaluate(now=at(5 + 72), events=[late("E2")])
    assert alert.started_at == at(5)


def test_kpi_alert_lifecycle() -> None:
    book = AlertBook(config=CONFIG)
    assert book.evaluate(now=at(0), snapshots=[otif(0.97, hours=0)]) == []
    [fired] = book.evaluate(now=at(1), snapshots=[otif(0.93, hours=1)])
    assert view(fired) == (OTIF, "firing", "new", "warning")
    assert fired.summary == "OTIF over 7d is 93.0%, below the 95.0% limit"
    assert fired.evidence == {
        "transition": "new",
        "kind": "threshold",
        "kpi": "otif",
        "window": "7d",
        "value": 0.93,
        "direction": "below",
        "threshold": 0.95,
        "critical": 0.85,
        "previous": 0.97,
        "trend": "worse",
    }
    assert (fired.started_at, fired.event_ids, fired.account_name) == (at(1), [], "Acme GmbH")
    # A move smaller than the material change (2 points) is not news.
    assert book.evaluate(now=at(1.5), snapshots=[otif(0.92, hours=1.5)]) == []
    # 3 points below the notified 93% is, once the 30 min pace allows.
    [moved] = book.evaluate(now=at(2), snapshots=[otif(0.90, hours=2)])
    assert view(moved) == (OTIF, "firing", "updated", "warning")
    assert (moved.evidence["value"], moved.evidence["previous"]) == (0.90, 0.92)
    # Crossing the critical limit is news at once.
    [critical] = book.evaluate(now=at(2.1), snapshots=[otif(0.84, hours=2.1)])
    assert view(critical) == (OTIF, "firing", "updated", "critical")
    # Back above 85% but not by the 1-point hysteresis: still critical, nothing to say.
    assert book.evaluate(now=at(2.2), snapshots=[otif(0.855, hours=2.2)]) == []
    assert book.evaluate(now=at(6)) == []
    [repeat] = book.evaluate(now=at(6.1))
    assert view(repeat) == (OTIF, "firing", "repeat", "critical")
    assert repeat.evidence["trend"] == "better"
    # No data holds the alert as it is.
    assert book.evaluate(now=at(6.5), snapshots=[otif(None, hours=6.5)]) == []
    [eased] = book.evaluate(now=at(7), snapshots=[otif(0.955, hours=7)])
    assert view(eased) == (OTIF, "firing", "updated", "warning")
    [resolved] = book.evaluate(now=at(8), snapshots=[otif(0.97, hours=8)])
    assert view(resolved) == (OTIF, "resolved", "resolved", "warning")
    assert resolved.summary == "OTIF over 7d is back at 97.0% (limit 95.0%)"
    assert resolved.evidence["reason"] == "recovered"
    assert (resolved.started_at, resolved.updated_at) == (at(1), at(8))
    assert book.evaluate(now=at(8.5), snapshots=[otif(0.955, hours=8.5)]) == []
    [again] = book.evaluate(now=at(9), snapshots=[otif(0.94, hours=9)])
    assert view(again) == (OTIF, "firing", "new", "warning")
    assert again.started_at == at(9)


def test_score_drop_and_silence_through_the_book() -> None:
    book = AlertBook(config=CONFIG)

    def snapshot(window: str, values: dict[str, float | None]) -> KpiSnapshot:
        return KpiSnapshot(
            account_id="ACME",
            account=STRATEGIC,
            contact_point=ContactPoint.SALES,
            window=window,
            values=values,
            as_of=at(1),
        )

    day = snapshot("24h", {"experience_score": 48.0, "days_since_executive_contact": 45.0})
    month = snapshot("30d", {"experience_score": 62.0, "days_since_executive_contact": 45.0})
    alerts = book.evaluate(now=at(1), snapshots=[day, month])
    assert [(alert.alert_key, alert.summary) for alert in alerts] == [
        (
            "ACME:sales:experience_score_drop_24h_vs_30d",
            "Experience score over 24h is 48.0, 14.0 points worse than its 30d baseline of 62.0 "
            "(limit 10.0 points)",
        ),
        ("ACME:sales:no_executive_contact", "No executive contact for 45 days (limit 30 days)"),
    ]
    day = snapshot("24h", {"experience_score": 61.0, "days_since_executive_contact": 0.5})
    month = snapshot("30d", {"experience_score": 62.0, "days_since_executive_contact": 0.5})
    alerts = book.evaluate(now=at(2), snapshots=[day, month])
    assert [(alert.status.value, alert.summary) for alert in alerts] == [
        (
            "resolved",
            "Experience score over 24h is back at 61.0, within 10.0 points of its 30d baseline "
            "of 62.0",
        ),
        ("resolved", "Executive contact resumed (0 days since the last one)"),
    ]


def test_an_account_leaving_the_alerting_tiers_resolves_its_kpi_alerts() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(1), snapshots=[otif(0.90, hours=1)])
    standard = AccountContext(tier=AccountTier.STANDARD, name="Acme GmbH")
    [resolved] = book.evaluate(now=at(2), snapshots=[otif(0.90, hours=2, account=standard)])
    assert view(resolved) == (OTIF, "resolved", "resolved", "warning")
    assert resolved.evidence["reason"] == "rule_not_applicable"
    assert book.state(OTIF) is None


def test_changes_are_drained_per_account() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(5), events=[late("E1")])
    changes = book.drain_changes()
    assert list(changes) == ["ACME"]
    bundle = changes["ACME"]
    assert bundle is not None and list(bundle) == [LATE]
    assert bundle[LATE]["n"] == 1 and bundle[LATE]["ids"] == ["E1"]
    assert book.drain_changes() == {}
    assert book.evaluate(now=at(5.1)) == []
    assert book.drain_changes() == {}  # nothing happened, nothing to write
    book.evaluate(now=at(30))
    assert book.drain_changes() == {"ACME": None}  # resolved: delete the table entry


def test_unchanged_kpi_snapshots_write_nothing() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(1), snapshots=[otif(0.97, hours=1)])
    assert list(book.drain_changes()) == ["ACME"]
    assert book.evaluate(now=at(2), snapshots=[otif(0.97, hours=2)]) == []
    assert book.drain_changes() == {}
    book.evaluate(now=at(3), snapshots=[otif(0.96, hours=3)])
    assert list(book.drain_changes()) == ["ACME"]


def test_book_round_trips_through_json_and_behaves_the_same() -> None:
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(0), snapshots=[otif(0.97, hours=0)])
    book.evaluate(now=at(5), events=[late("E1")], snapshots=[otif(0.84, hours=5)])
    book.evaluate(now=at(5.25), events=[late("E2")])
    raw = book.dumps()
    copy = AlertBook.loads(raw, config=CONFIG)
    assert copy.to_primitive() == book.to_primitive()
    assert copy.dumps() == raw
    assert sorted(copy.firing_keys) == sorted(book.firing_keys) == [LATE, OTIF]
    restored = AlertBook(config=CONFIG)
    restored.restore("ACME", book.account_states("ACME"))
    for later in (at(6), at(9.1), at(29.25)):
        expected = book.evaluate(now=later)
        assert copy.evaluate(now=later) == expected
        assert restored.evaluate(now=later) == expected
    assert [view(alert) for alert in expected] == [
        (LATE, "resolved", "resolved", "warning"),
        (OTIF, "firing", "repeat", "critical"),
    ]


def test_corrupt_state_is_a_typed_error() -> None:
    with pytest.raises(AlertStateError) as caught:
        AlertBook(config=CONFIG, states={"ACME": {OTIF: {"k": "kpi"}}})
    assert caught.value.key == OTIF
    with pytest.raises(AlertStateError):
        AlertBook.loads(b"not json", config=CONFIG)
    with pytest.raises(AlertStateError):
        AlertBook.loads(b"[1, 2]", config=CONFIG)


def test_two_records_of_one_key_in_one_batch_are_ordered_by_updated_at() -> None:
    """A quiet-period resolve and the new alert of the same key, in one batch: receivers order
    a key's records by ``updated_at`` (and drop one that is not newer), so it grows."""
    book = AlertBook(config=CONFIG)
    book.evaluate(now=at(5), events=[late("E1")])
    resolved, again = book.evaluate(now=at(30), events=[late("E2")])
    assert (resolved.status, again.status) == ("resolved", "firing")
    assert resolved.updated_at == at(30)
    assert again.updated_at == at(30) + timedelta(milliseconds=1)
    # Stamps are whole milliseconds (the alerts table's precision), never rounded up.
    first, *_ = book.evaluate(now=at(60) + timedelta(microseconds=2_999), events=[late("E4")])
    assert first.updated_at == at(60) + timedelta(milliseconds=2)


def test_a_key_stamped_ahead_of_the_clock_stays_ordered_in_the_next_batch() -> None:
    """The next batch runs within the millisecond of a key's last record: its new record is
    still a millisecond newer, not a tie the alerts table could not order."""
    book = AlertBook(config=CONFIG)
    [fired] = book.evaluate(now=at(1), snapshots=[otif(0.93, hours=1)])
    [critical] = book.evaluate(
        now=at(1) + timedelta(microseconds=300), snapshots=[otif(0.84, hours=2.1)]
    )
    assert (fired.severity, critical.severity) == ("warning", "critical")
    assert (fired.updated_at, critical.updated_at) == (at(1), at(1) + timedelta(milliseconds=1))
    [eased] = book.evaluate(now=at(3), snapshots=[otif(0.90, hours=3)])
    assert eased.updated_at == at(3)
