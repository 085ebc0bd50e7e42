"""Known data for the incident chain tests: one order that goes wrong in three departments.

Order O-17 of one account: its shipment S-3 is delivered 2 days late (logistics, critical: 24 h
or more), the first response to high-priority ticket T-9 about it takes 3 h against a 1 h SLA
(support, critical: 2x the SLA or more), and invoice I-4 for it is disputed (billing, warning).
Around it: the order itself (placed, not bad), a late delivery of order O-18 alone (one
department: never a chain) and a late delivery naming no order. Arrival order differs from
event-time order: the chain is told in event time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ORDER = "O-17"
STORY = (
    "order O-17: Shipment S-3 delivered 2 d late (logistics)"
    " -> First response of high ticket T-9 took 3 h (SLA 1 h) (support)"
    " -> Invoice I-4 disputed: charged for undelivered units (billing)"
)
FIRST_STORY = (
    "order O-17: Shipment S-3 delivered 2 d late (logistics)"
    " -> Invoice I-4 disputed: charged for undelivered units (billing)"
)
"""The chain before the ticket's first response arrives."""
CHAIN_EVENT_IDS = ["c-late", "c-ticket", "c-dispute"]


def chain_alert_key(account_id: str) -> str:
    return f"{account_id}:incident_chain:{ORDER}"


def explained(account_id: str) -> list[str]:
    """The per-event alert keys the chain explains, in chain order."""
    return [
        f"{account_id}:logistics:late_delivery",
        f"{account_id}:support:first_response_sla_breach",
        f"{account_id}:billing:invoice_disputed",
    ]


def _doc(
    event_id: str, account_id: str, event_type: str, at: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "account_id": account_id,
        "event_type": event_type,
        "occurred_at": at.isoformat(),
        "source_system": "test",
        "payload": payload,
    }


def _late(event_id: str, account_id: str, at: datetime, **refs: str) -> dict[str, Any]:
    promised = at - timedelta(days=2)
    payload = {
        "promised_at": promised.isoformat(),
        "delivered_at": at.isoformat(),
        "ordered_qty": 10,
        "delivered_qty": 10,
        **refs,
    }
    return _doc(event_id, account_id, "delivery_completed", at, payload)


def order_story(account_id: str, start: datetime) -> list[dict[str, Any]]:
    """The events in arrival order: the dispute (last in event time) arrives before the
    ticket's first response, so the chain fires with two departments and the ticket, the
    third, updates it."""
    opened = start + timedelta(hours=1)
    later = start + timedelta(minutes=5)
    return [
        _doc(
            "c-placed",
            account_id,
            "order_placed",
            start - timedelta(days=5),
            {"order_id": ORDER, "amount": 1200.0},
        ),
        _late("c-late", account_id, start, shipment_id="S-3", order_id=ORDER),
        _late("c-other", account_id, later, shipment_id="S-4", order_id="O-18"),
        _late("c-none", account_id, start + timedelta(minutes=6), shipment_id="S-5"),
        _doc(
            "c-dispute",
            account_id,
            "invoice_disputed",
            start + timedelta(hours=26),
            {"invoice_id": "I-4", "reason": "charged for undelivered units", "order_id": ORDER},
        ),
        _doc(
            "c-ticket",
            account_id,
            "ticket_first_response",
            opened + timedelta(hours=3),
            {
                "ticket_id": "T-9",
                "priority": "high",
                "opened_at": opened.isoformat(),
                "order_id": ORDER,
            },
        ),
    ]
