"""Billing and sales KPIs against hand-worked examples."""

from __future__ import annotations

from datetime import timedelta

from schemas.touchpoints import ContactPoint
from streams.kpis import ContactPointState, KpiConfig
from tests.unit.streams.test_kpi_events import at, event

CONFIG = KpiConfig()


def state_of(contact_point: ContactPoint, *events: object) -> ContactPointState:
    state = ContactPointState(contact_point=contact_point, config=CONFIG)
    for item in events:
        assert state.apply(item) == "applied"  # type: ignore[arg-type]
    return state


def invoice(hours: float) -> object:
    return event("invoice_issued", at(hours=hours), invoice_id="i", amount=100, due_at=at(days=30))


def credit_note(hours: float, *, error: bool) -> object:
    return event(
        "credit_note_issued", at(hours=hours), invoice_id="i", amount=5, caused_by_error=error
    )


def test_billing_kpis() -> None:
    events = [invoice(1) for _ in range(10)]
    events += [
        event("invoice_disputed", at(hours=2), invoice_id="i1", reason="wrong price"),
        credit_note(3, error=True),
        event("dispute_resolved", at(days=3), invoice_id="i1", disputed_at=at(), outcome="upheld"),
        event(
            "dispute_resolved", at(days=6), invoice_id="i2", disputed_at=at(), outcome="credited"
        ),
        event("payment_failed", at(days=6), invoice_id="i3"),
    ]
    events += [event("payment_received", at(days=5), invoice_id="i", amount=100, days_late=d)
               for d in (0, 0, 5, 10)]  # fmt: skip
    state = state_of(ContactPoint.BILLING, *events)
    goodwill = credit_note(4, error=False)
    assert state.apply(goodwill) == "ignored"  # type: ignore[arg-type]
    # 7d as of day 6 noon covers [day 0, day 7): every event above
    assert state.snapshot(as_of=at(days=6, hours=12), window="7d") == {
        "invoice_accuracy": 0.8,  # 1 - (1 error credit note + 1 dispute) / 10 issued
        "dispute_rate": 0.1,  # 1 disputed / 10 issued
        "dispute_resolution_days_avg": 4.5,  # (3 + 6) / 2
        "late_payment_rate": 0.5,  # 2 of 4 payments late
        "days_late_avg": 3.75,  # (0 + 0 + 5 + 10) / 4 payments
        "payment_failure_rate": 0.2,  # 1 failed / (4 received + 1 failed)
    }


def test_invoice_accuracy_is_clamped_at_zero() -> None:
    # 2 issued, 2 disputes + 2 error credit notes: 1 - 4/2 = -1 -> 0
    disputes = [event("invoice_disputed", at(hours=2), invoice_id="i", reason="r")] * 2
    state = state_of(
        ContactPoint.BILLING,
        invoice(1),
        invoice(1),
        *disputes,
        credit_note(3, error=True),
        credit_note(3, error=True),
    )
    assert state.snapshot(as_of=at(hours=4), window="24h")["invoice_accuracy"] == 0.0


def order_changed(hours: float, change: str, by: str) -> object:
    return event("order_changed", at(hours=hours), order_id="o", change=change, initiated_by=by)


def test_sales_kpis() -> None:
    state = state_of(
        ContactPoint.SALES,
        event("quote_sent", at(hours=10), quote_id="q1", requested_at=at(hours=8)),
        event("quote_sent", at(hours=10), quote_id="q2", requested_at=at(hours=4)),
        *[event("order_placed", at(hours=11), order_id="o", amount=10)] * 4,
        event("order_confirmed", at(hours=12), order_id="o1", placed_at=at(hours=11, minutes=30)),
        event("order_confirmed", at(hours=13), order_id="o2", placed_at=at(hours=11, minutes=30)),
        order_changed(14, "cancelled", "supplier"),
        event("executive_meeting_held", at(days=-3), meeting_id="m1"),
    )
    for ignored in (
        order_changed(14, "cancelled", "customer"),
        order_changed(14, "changed", "supplier"),
    ):
        assert state.apply(ignored) == "ignored"  # type: ignore[arg-type]
    assert state.snapshot(as_of=at(days=1, hours=12), window="7d") == {
        "quote_turnaround_hours_avg": 4.0,  # (2 h + 6 h) / 2
        "order_confirmation_hours_avg": 1.0,  # (30 min + 90 min) / 2
        "supplier_cancellation_rate": 0.25,  # 1 supplier cancellation / 4 orders placed
        "days_since_executive_contact": 4.0,  # day -3 00:00 -> day 1 12:00: 4.5 d, 4 whole
    }


def test_executive_contact_is_kept_beyond_every_window() -> None:
    recent = event("quote_sent", at(days=60), quote_id="q", requested_at=at(days=60))
    state = state_of(ContactPoint.SALES, recent)
    # 60 days behind the high-water mark: too late for any window, still the last meeting
    assert state.apply(event("executive_meeting_held", at(), meeting_id="m")) == "applied"  # type: ignore[arg-type]
    assert state.apply(event("executive_meeting_held", at(days=-1), meeting_id="m0")) == "applied"  # type: ignore[arg-type]
    as_of = at(days=60) + timedelta(hours=12)
    snapshot = state.snapshot(as_of=as_of, window="30d")
    assert snapshot["days_since_executive_contact"] == 60.0  # 60.5 days: 60 whole days
    assert snapshot["supplier_cancellation_rate"] is None
    assert state.too_late == 0


def test_days_since_executive_contact_counts_whole_days() -> None:
    met = at(hours=9, minutes=30)
    state = state_of(ContactPoint.SALES, event("executive_meeting_held", met, meeting_id="m"))

    def days(**offset: float) -> float | None:
        return state.snapshot(as_of=met + timedelta(**offset), window="1h")[
            "days_since_executive_contact"
        ]

    # 0 until 24 h have passed, 1 from then; never negative (a stream time before the meeting)
    assert [days(seconds=-5), days(), days(days=1, seconds=-1), days(days=1)] == [0, 0, 0, 1]
    assert [days(days=2, seconds=-1), days(days=2), days(days=45, hours=23)] == [1, 2, 45]
    # the same value in every window: it is measured to as_of, not to a window's end
    assert {w: v["days_since_executive_contact"]
            for w, v in state.snapshots(as_of=met + timedelta(days=3, hours=20)).items()} == {
        "1h": 3.0, "24h": 3.0, "7d": 3.0, "30d": 3.0,
    }  # fmt: skip
