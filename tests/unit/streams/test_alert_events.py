"""Event-level rules: one hand-worked example per rule, and the good cases around each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import TOUCHPOINT_ADAPTER, Priority, Severity, Touchpoint
from streams.alerting import EventRules, bad_experience, bad_experiences
from streams.alerting.config import SlaTarget
from streams.alerting.events import duration_words

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def touchpoint(
    event_type: str,
    payload: dict[str, Any],
    *,
    event_id: str = "E1",
    account_id: str = "ACME",
    occurred_at: datetime = T0,
) -> Touchpoint:
    """A validated catalogue event (shared with the lifecycle tests)."""
    return TOUCHPOINT_ADAPTER.validate_python(
        {
            "event_id": event_id,
            "account_id": account_id,
            "occurred_at": occurred_at,
            "source_system": "test",
            "event_type": event_type,
            "payload": payload,
        }
    )


def delivery(
    *, late: timedelta = timedelta(0), ordered: int = 10, delivered: int = 10, damaged: int = 0
) -> Touchpoint:
    promised = T0 + timedelta(hours=4)
    return touchpoint(
        "delivery_completed",
        {
            "shipment_id": "S1",
            "promised_at": promised,
            "delivered_at": promised + late,
            "ordered_qty": ordered,
            "delivered_qty": delivered,
            "damaged_qty": damaged,
        },
        occurred_at=promised + late,
    )


def ticket(event_type: str, priority: str, elapsed: timedelta, ticket_id: str = "T1") -> Touchpoint:
    return touchpoint(
        event_type,
        {"ticket_id": ticket_id, "priority": priority, "opened_at": T0},
        occurred_at=T0 + elapsed,
    )


def only(event: Touchpoint, rules: EventRules | None = None) -> tuple[str, Severity, str]:
    found = bad_experience(event, rules) if rules else bad_experience(event)
    assert found is not None
    return found.rule, found.severity, found.summary


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 min"),
        (25 * 60, "25 min"),
        (3600, "1 h"),
        (330 * 60, "5 h 30 min"),
        (25 * 3600, "25 h"),
        (48 * 3600, "2 d"),
        (80 * 3600, "3 d 8 h"),
    ],
)
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def test_late_delivery_says_by_how_long() -> None:
    found = bad_experience(delivery(late=timedelta(hours=5, minutes=30)))
    assert found is not None
    assert (found.rule, found.severity) == ("late_delivery", Severity.WARNING)
    assert found.summary == "Shipment S1 delivered 5 h 30 min late"
    assert found.evidence == {
        "shipment_id": "S1",
        "delay_minutes": 330.0,
        "promised_at": "2026-03-02T12:00:00+00:00",
        "delivered_at": "2026-03-02T17:30:00+00:00",
    }


def test_late_delivery_a_day_late_is_critical() -> None:
    assert only(delivery(late=timedelta(hours=25))) == (
        "late_delivery",
        Severity.CRITICAL,
        "Shipment S1 delivered 25 h late",
    )


def test_on_time_and_within_grace_are_fine() -> None:
    assert bad_experience(delivery()) is None
    grace = EventRules(late_delivery_grace_minutes=15)
    assert bad_experience(delivery(late=timedelta(minutes=10)), grace) is None
    assert (
        only(delivery(late=timedelta(minutes=16)), grace)[2] == "Shipment S1 delivered 16 min late"
    )


def test_short_delivery() -> None:
    assert only(delivery(delivered=8)) == (
        "short_delivery",
        Severity.WARNING,
        "Shipment S1 delivered short: 8 of 10 units",
    )


def test_damaged_goods() -> None:
    assert only(delivery(damaged=2)) == (
        "damaged_goods",
        Severity.WARNING,
        "Shipment S1 arrived with 2 damaged units",
    )


def test_one_delivery_breaks_three_rules_and_the_worst_is_reported() -> None:
    event = delivery(late=timedelta(hours=2), delivered=8, damaged=1)
    assert [bad.rule for bad in bad_experiences(event)] == [
        "late_delivery",
        "short_delivery",
        "damaged_goods",
    ]
    assert only(event)[0] == "late_delivery"  # all warnings: rule order decides
    damage_critical = EventRules(severity={"damaged_goods": Severity.CRITICAL})
    assert only(event, damage_critical)[:2] == ("damaged_goods", Severity.CRITICAL)


def test_failed_delivery_is_critical() -> None:
    event = touchpoint("delivery_failed", {"shipment_id": "S2", "reason": "nobody at the dock"})
    assert only(event) == (
        "failed_delivery",
        Severity.CRITICAL,
        "Delivery of shipment S2 failed: nobody at the dock",
    )


def test_return_received() -> None:
    event = touchpoint(
        "return_received", {"shipment_id": "S3", "quantity": 3, "reason": "wrong item"}
    )
    assert only(event) == (
        "return_received",
        Severity.WARNING,
        "Return of 3 units received for shipment S3: wrong item",
    )


@pytest.mark.parametrize(
    ("priority", "elapsed", "expected"),
    [
        ("urgent", timedelta(minutes=10), None),
        (
            "urgent",
            timedelta(minutes=15),
            (Severity.WARNING, "First response of urgent ticket T1 took 15 min (SLA 10 min)"),
        ),
        (
            "urgent",
            timedelta(minutes=25),
            (Severity.CRITICAL, "First response of urgent ticket T1 took 25 min (SLA 10 min)"),
        ),
        (
            "high",
            timedelta(minutes=90),
            (Severity.WARNING, "First response of high ticket T1 took 1 h 30 min (SLA 1 h)"),
        ),
        ("normal", timedelta(hours=4), None),
        (
            "low",
            timedelta(hours=9),
            (Severity.WARNING, "First response of low ticket T1 took 9 h (SLA 8 h)"),
        ),
    ],
)
def test_first_response_against_the_sla_of_its_priority(
    priority: str, elapsed: timedelta, expected: tuple[Severity, str] | None
) -> None:
    found = bad_experience(ticket("ticket_first_response", priority, elapsed))
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.rule, found.severity, found.summary) == (
            "first_response_sla_breach",
            *expected,
        )


def test_resolution_against_the_sla_of_its_priority() -> None:
    found = bad_experience(ticket("ticket_resolved", "normal", timedelta(hours=26)))
    assert found is not None
    assert (found.rule, found.severity, found.summary) == (
        "resolution_sla_breach",
        Severity.WARNING,
        "Resolution of normal ticket T1 took 26 h (SLA 24 h)",
    )
    assert found.evidence == {
        "ticket_id": "T1",
        "priority": "normal",
        "elapsed_minutes": 1560.0,
        "sla_minutes": 1440.0,
    }
    assert only(ticket("ticket_resolved", "low", timedelta(hours=80)))[2] == (
        "Resolution of low ticket T1 took 3 d 8 h (SLA 3 d)"
    )
    assert bad_experience(ticket("ticket_resolved", "urgent", timedelta(hours=2))) is None


def test_sla_table_is_configurable() -> None:
    rules = EventRules(
        sla={
            **EventRules().sla,
            Priority.URGENT: SlaTarget(first_response_minutes=5, resolution_minutes=60),
        }
    )
    assert only(ticket("ticket_first_response", "urgent", timedelta(minutes=8)), rules)[2] == (
        "First response of urgent ticket T1 took 8 min (SLA 5 min)"
    )


def test_ticket_reopened_and_escalated() -> None:
    assert only(touchpoint("ticket_reopened", {"ticket_id": "T3"})) == (
        "ticket_reopened",
        Severity.WARNING,
        "Ticket T3 was reopened",
    )
    assert only(touchpoint("ticket_escalated", {"ticket_id": "T4"})) == (
        "ticket_escalated",
        Severity.WARNING,
        "Ticket T4 escalated to level 1",
    )
    level_two = touchpoint(
        "ticket_escalated", {"ticket_id": "T4", "level": 2, "reason": "churn risk"}
    )
    assert only(level_two) == (
        "ticket_escalated",
        Severity.CRITICAL,
        "Ticket T4 escalated to level 2: churn risk",
    )


def test_csat_two_or_less() -> None:
    assert only(touchpoint("csat_submitted", {"score": 2, "ticket_id": "T5"})) == (
        "low_csat",
        Severity.WARNING,
        "CSAT score 2 of 5 on ticket T5",
    )
    assert only(touchpoint("csat_submitted", {"score": 1}))[2] == "CSAT score 1 of 5"
    assert bad_experience(touchpoint("csat_submitted", {"score": 3})) is None


def test_nps_detractor_is_zero_to_six() -> None:
    assert only(touchpoint("nps_submitted", {"score": 6})) == (
        "nps_detractor",
        Severity.WARNING,
        "NPS detractor: score 6 of 10",
    )
    assert bad_experience(touchpoint("nps_submitted", {"score": 7})) is None


def test_billing_rules() -> None:
    disputed = touchpoint("invoice_disputed", {"invoice_id": "I1", "reason": "wrong price"})
    assert only(disputed) == (
        "invoice_disputed",
        Severity.WARNING,
        "Invoice I1 disputed: wrong price",
    )
    failed = touchpoint("payment_failed", {"invoice_id": "I2"})
    assert only(failed) == ("payment_failed", Severity.WARNING, "Payment of invoice I2 failed")
    credit = {
        "invoice_id": "I3",
        "amount": 120.5,
        "caused_by_error": True,
        "reason": "duplicate line",
    }
    assert only(touchpoint("credit_note_issued", credit)) == (
        "credit_note_error",
        Severity.WARNING,
        "Credit note of 120.50 on invoice I3 corrects our error: duplicate line",
    )
    goodwill = {**credit, "caused_by_error": False}
    assert bad_experience(touchpoint("credit_note_issued", goodwill)) is None


def test_only_a_cancellation_by_the_supplier_is_bad() -> None:
    def change(change: str, by: str) -> Touchpoint:
        payload = {"order_id": "O1", "change": change, "initiated_by": by, "reason": "out of stock"}
        return touchpoint("order_changed", payload)

    assert only(change("cancelled", "supplier")) == (
        "supplier_cancellation",
        Severity.CRITICAL,
        "Order O1 cancelled on our side: out of stock",
    )
    assert bad_experience(change("cancelled", "customer")) is None
    assert bad_experience(change("changed", "supplier")) is None


def test_slow_quote_and_slow_order_confirmation() -> None:
    quote = touchpoint(
        "quote_sent",
        {"quote_id": "Q1", "requested_at": T0 - timedelta(hours=50)},
    )
    found = bad_experience(quote)
    assert found is not None
    assert (found.rule, found.summary) == ("slow_quote", "Quote Q1 took 2 d 2 h (target 2 d)")
    assert found.evidence == {"quote_id": "Q1", "elapsed_hours": 50.0, "target_hours": 48.0}
    strategic = EventRules(slow_quote_hours=24)
    fast = touchpoint("quote_sent", {"quote_id": "Q2", "requested_at": T0 - timedelta(hours=30)})
    assert bad_experience(fast) is None
    assert only(fast, strategic)[2] == "Quote Q2 took 30 h (target 24 h)"
    confirmed = touchpoint(
        "order_confirmed", {"order_id": "O2", "placed_at": T0 - timedelta(hours=25)}
    )
    assert only(confirmed) == (
        "slow_order_confirmation",
        Severity.WARNING,
        "Confirmation of order O2 took 25 h (target 24 h)",
    )


def test_good_events_and_disabled_rules_give_nothing() -> None:
    assert bad_experience(touchpoint("order_placed", {"order_id": "O3", "amount": 10})) is None
    opened = {"ticket_id": "T6", "priority": "urgent"}
    assert bad_experience(touchpoint("ticket_opened", opened)) is None
    assert bad_experiences(touchpoint("ticket_opened", opened)) == ()
    reopened = touchpoint("ticket_reopened", {"ticket_id": "T3"})
    assert bad_experience(reopened, EventRules(disabled=frozenset({"ticket_reopened"}))) is None
