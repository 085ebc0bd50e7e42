"""Touchpoint factories shared by the KPI tests (and a check that they build valid events)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.touchpoints import TOUCHPOINT_ADAPTER, Touchpoint

T0 = datetime(2026, 3, 1, tzinfo=UTC)
"""A UTC midnight: day, hour and 5-minute buckets all start here."""
_ids = itertools.count()


def at(*, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def event(
    event_type: str, occurred_at: datetime, account: str = "acme", **payload: Any
) -> Touchpoint:
    """A validated touchpoint; datetimes in ``payload`` are passed as they are."""
    return TOUCHPOINT_ADAPTER.validate_python(
        {
            "event_id": f"e{next(_ids)}",
            "account_id": account,
            "occurred_at": occurred_at,
            "source_system": "test",
            "event_type": event_type,
            "payload": payload,
        }
    )


def delivery(
    occurred_at: datetime,
    *,
    late_hours: float = 0,
    ordered: int = 10,
    delivered: int = 10,
    damaged: int = 0,
    account: str = "acme",
) -> Touchpoint:
    """A completed delivery made at ``occurred_at``, ``late_hours`` after its promise."""
    return event(
        "delivery_completed",
        occurred_at,
        account,
        shipment_id="s",
        promised_at=occurred_at - timedelta(hours=late_hours),
        delivered_at=occurred_at,
        ordered_qty=ordered,
        delivered_qty=delivered,
        damaged_qty=damaged,
    )


def ticket_time(
    kind: str, occurred_at: datetime, minutes: float, priority: str = "normal"
) -> Touchpoint:
    """A ``ticket_first_response`` or ``ticket_resolved`` ``minutes`` after the ticket opened."""
    opened = occurred_at - timedelta(minutes=minutes)
    return event(kind, occurred_at, ticket_id="t", priority=priority, opened_at=opened)


def test_factories_build_the_catalogue_models() -> None:
    made = delivery(at(hours=2), late_hours=1.5, delivered=9)
    assert made.event_type == "delivery_completed"
    assert made.payload.promised_at == at(minutes=30)
    reply = ticket_time("ticket_first_response", at(hours=1), 45, "urgent")
    assert reply.contact_point == "support"
    assert reply.payload.opened_at == at(minutes=15)
