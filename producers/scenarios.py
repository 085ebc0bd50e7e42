"""Realistic payloads for every event type of the catalogue, as good or bad experiences.

Each :class:`Scenario` renders one payload from a random source and the event's time. A bad
scenario names the alert rule it breaks (the rule ids of ``config/alert_rules.toml``); a good
one breaks none, for every account tier. Pure functions: all randomness comes from ``rng``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas import AccountTier, ContactPoint, Priority, contact_point_of
from schemas.sla import SUPPORT_SLA_MINUTES

Payload = dict[str, Any]
Render = Callable[[random.Random, datetime], Payload]

H = 3600.0
D = 24 * H

SLA_MINUTES = SUPPORT_SLA_MINUTES


@dataclass(frozen=True, slots=True)
class Scenario:
    """How to render one event type; ``rule`` is the alert rule it breaks, ``None`` if good."""

    event_type: str
    rule: str | None
    render: Render

    @property
    def contact_point(self) -> ContactPoint:
        return contact_point_of(self.event_type)


def _id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{rng.randrange(1_000_000):06d}"


def _ago(at: datetime, seconds: float) -> str:
    return (at - timedelta(seconds=round(seconds))).isoformat()


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


# --- sales -------------------------------------------------------------------------------------
def _quote_requested(rng: random.Random, at: datetime) -> Payload:
    return {"quote_id": _id(rng, "Q")}


def _quote_sent(hours: tuple[float, float]) -> Render:
    def render(rng: random.Random, at: datetime) -> Payload:
        return {
            "quote_id": _id(rng, "Q"),
            "requested_at": _ago(at, rng.uniform(*hours) * H),
            "amount": _money(rng, 1_000, 250_000),
        }

    return render


def _order_placed(rng: random.Random, at: datetime) -> Payload:
    return {"order_id": _id(rng, "SO"), "amount": _money(rng, 500, 500_000), "currency": "EUR"}


def _order_confirmed(hours: tuple[float, float]) -> Render:
    def render(rng: random.Random, at: datetime) -> Payload:
        return {"order_id": _id(rng, "SO"), "placed_at": _ago(at, rng.uniform(*hours) * H)}

    return render


def _order_changed(rng: random.Random, at: datetime) -> Payload:
    change = rng.choice(["changed", "cancelled"])
    reason = rng.choice(["quantity update", "new delivery date", "budget freeze"])
    return {"order_id": _id(rng, "SO"), "change": change, "initiated_by": "customer",
            "reason": reason}


def _supplier_cancellation(rng: random.Random, at: datetime) -> Payload:
    reason = rng.choice(["stock shortage", "production stop", "credit hold"])
    return {"order_id": _id(rng, "SO"), "change": "cancelled", "initiated_by": "supplier",
            "reason": reason}


def _executive_meeting(rng: random.Random, at: datetime) -> Payload:
    roles = ["CEO", "CFO", "COO", "Head of Procurement", "Sales Director", "KAM"]
    return {"meeting_id": _id(rng, "M"), "attendees": sorted(rng.sample(roles, 3))}


# --- logistics ---------------------------------------------------------------------------------
def _shipment_dispatched(rng: random.Random, at: datetime) -> Payload:
    promised = at + timedelta(seconds=round(rng.uniform(12 * H, 72 * H)))
    return {"shipment_id": _id(rng, "SH"), "order_id": _id(rng, "SO"),
            "promised_at": promised.isoformat()}


def _delivery(problem: str | None) -> Render:
    """A delivery at ``at``: on time and in full, or with exactly one ``problem``."""

    def render(rng: random.Random, at: datetime) -> Payload:
        ordered = rng.randint(5, 500)
        delivered, damaged = ordered, 0
        if problem == "late_delivery":
            promised = at - timedelta(seconds=round(rng.uniform(0.5 * H, 48 * H)))
        else:
            promised = at + timedelta(seconds=round(rng.uniform(0, 4 * H)))
        if problem == "short_delivery":
            delivered = ordered - rng.randint(1, ordered // 3)
        if problem == "damaged_goods":
            damaged = rng.randint(1, max(1, ordered // 10))
        return {"shipment_id": _id(rng, "SH"), "promised_at": promised.isoformat(),
                "delivered_at": at.isoformat(), "ordered_qty": ordered,
                "delivered_qty": delivered, "damaged_qty": damaged}

    return render


def _delivery_failed(rng: random.Random, at: datetime) -> Payload:
    reason = rng.choice(["address not found", "site closed", "refused at gate", "truck breakdown"])
    return {"shipment_id": _id(rng, "SH"), "reason": reason}


def _return_received(rng: random.Random, at: datetime) -> Payload:
    reason = rng.choice(["damaged", "wrong item", "not as ordered"])
    return {"shipment_id": _id(rng, "SH"), "quantity": rng.randint(1, 20), "reason": reason}


# --- support -----------------------------------------------------------------------------------
def _priority(rng: random.Random) -> Priority:
    return rng.choices(list(SLA_MINUTES), weights=[1, 2, 5, 2])[0]


def _ticket_opened(rng: random.Random, at: datetime) -> Payload:
    channel = rng.choice(["email", "phone", "portal", "chat"])
    return {"ticket_id": _id(rng, "T"), "priority": _priority(rng).value, "channel": channel}


def _ticket_timed(which: int, factor: tuple[float, float]) -> Render:
    """A reply (``which`` 0) or resolution (1) after ``factor`` times the priority's SLA."""

    def render(rng: random.Random, at: datetime) -> Payload:
        priority = _priority(rng)
        elapsed = SLA_MINUTES[priority][which] * 60 * rng.uniform(*factor)
        return {"ticket_id": _id(rng, "T"), "priority": priority.value,
                "opened_at": _ago(at, elapsed)}

    return render


def _ticket_reopened(rng: random.Random, at: datetime) -> Payload:
    return {"ticket_id": _id(rng, "T")}


def _ticket_escalated(rng: random.Random, at: datetime) -> Payload:
    reason = rng.choice(["no workaround", "customer complaint", "repeat incident"])
    return {"ticket_id": _id(rng, "T"), "level": rng.randint(1, 3), "reason": reason}


def _csat(scores: list[int]) -> Render:
    def render(rng: random.Random, at: datetime) -> Payload:
        return {"score": rng.choice(scores), "ticket_id": _id(rng, "T")}

    return render


def _nps(scores: list[int]) -> Render:
    def render(rng: random.Random, at: datetime) -> Payload:
        return {"score": rng.choice(scores)}

    return render


# --- billing -----------------------------------------------------------------------------------
def _invoice_issued(rng: random.Random, at: datetime) -> Payload:
    due = at + timedelta(days=rng.choice([30, 45, 60]))
    return {"invoice_id": _id(rng, "INV"), "amount": _money(rng, 200, 300_000),
            "currency": "EUR", "due_at": due.isoformat()}


def _invoice_disputed(rng: random.Random, at: datetime) -> Payload:
    reasons = ["wrong price", "duplicate invoice", "goods not received", "wrong quantity"]
    reason = rng.choice(reasons)
    return {"invoice_id": _id(rng, "INV"), "reason": reason,
            "amount_disputed": _money(rng, 50, 20_000)}


def _dispute_resolved(rng: random.Random, at: datetime) -> Payload:
    return {"invoice_id": _id(rng, "INV"), "disputed_at": _ago(at, rng.uniform(1 * D, 20 * D)),
            "outcome": rng.choice(["credited", "upheld", "withdrawn"])}


def _payment_received(rng: random.Random, at: datetime) -> Payload:
    days_late = rng.choices([0, rng.randint(1, 10), rng.randint(11, 60)], weights=[8, 3, 1])[0]
    return {"invoice_id": _id(rng, "INV"), "amount": _money(rng, 200, 300_000),
            "days_late": days_late}


def _credit_note(caused_by_error: bool) -> Render:
    reasons = ["pricing error", "duplicate billing"] if caused_by_error else ["volume rebate",
                                                                             "goodwill"]

    def render(rng: random.Random, at: datetime) -> Payload:
        return {"invoice_id": _id(rng, "INV"), "amount": _money(rng, 50, 10_000),
                "caused_by_error": caused_by_error, "reason": rng.choice(reasons)}

    return render


def _payment_failed(rng: random.Random, at: datetime) -> Payload:
    reason = rng.choice(["insufficient funds", "mandate revoked", "bank rejected"])
    return {"invoice_id": _id(rng, "INV"), "reason": reason}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("quote_requested", None, _quote_requested),
    Scenario("quote_sent", None, _quote_sent((0.5, 20))),
    Scenario("quote_sent", "slow_quote", _quote_sent((50, 240))),
    Scenario("order_placed", None, _order_placed),
    Scenario("order_confirmed", None, _order_confirmed((0.1, 6))),
    Scenario("order_confirmed", "slow_order_confirmation", _order_confirmed((26, 96))),
    Scenario("order_changed", None, _order_changed),
    Scenario("order_changed", "supplier_cancellation", _supplier_cancellation),
    Scenario("executive_meeting_held", None, _executive_meeting),
    Scenario("shipment_dispatched", None, _shipment_dispatched),
    Scenario("delivery_completed", None, _delivery(None)),
    Scenario("delivery_completed", "late_delivery", _delivery("late_delivery")),
    Scenario("delivery_completed", "short_delivery", _delivery("short_delivery")),
    Scenario("delivery_completed", "damaged_goods", _delivery("damaged_goods")),
    Scenario("delivery_failed", "failed_delivery", _delivery_failed),
    Scenario("return_received", "return_received", _return_received),
    Scenario("ticket_opened", None, _ticket_opened),
    Scenario("ticket_first_response", None, _ticket_timed(0, (0.1, 0.9))),
    Scenario("ticket_first_response", "first_response_sla_breach", _ticket_timed(0, (1.2, 3))),
    Scenario("ticket_resolved", None, _ticket_timed(1, (0.1, 0.9))),
    Scenario("ticket_resolved", "resolution_sla_breach", _ticket_timed(1, (1.2, 3))),
    Scenario("ticket_reopened", "ticket_reopened", _ticket_reopened),
    Scenario("ticket_escalated", "ticket_escalated", _ticket_escalated),
    Scenario("csat_submitted", None, _csat([3, 4, 4, 5, 5, 5])),
    Scenario("csat_submitted", "low_csat", _csat([1, 2])),
    Scenario("nps_submitted", None, _nps([7, 8, 9, 9, 10, 10])),
    Scenario("nps_submitted", "nps_detractor", _nps([0, 1, 2, 3, 4, 5, 6])),
    Scenario("invoice_issued", None, _invoice_issued),
    Scenario("invoice_disputed", "invoice_disputed", _invoice_disputed),
    Scenario("dispute_resolved", None, _dispute_resolved),
    Scenario("payment_received", None, _payment_received),
    Scenario("credit_note_issued", None, _credit_note(False)),
    Scenario("credit_note_issued", "credit_note_error", _credit_note(True)),
    Scenario("payment_failed", "payment_failed", _payment_failed),
)
"""Every event type of the catalogue, each with its good and/or bad renderings."""


# --- how departments treat tiers ---------------------------------------------------------------
ELAPSED_FIELDS = ("opened_at", "requested_at", "placed_at", "disputed_at")
"""Payload times that start what the event ends: a reply, a quote, a confirmation, a dispute."""


@dataclass(frozen=True, kw_only=True)
class TierService:
    """How the departments serve each tier (``SimulationConfig.tier_service``).

    A department that serves tiers gives an account of tier T ``bad_factor[T]`` times the
    chance of a bad experience, and answers its good events (replies, resolutions, quotes,
    order confirmations, dispute resolutions) in ``speed_factor[T]`` times the time. The
    departments in ``blind`` ignore tiers: every account is served like a standard one, the
    failure the founding article describes. Without a ``TierService`` nobody looks at tiers.
    """

    bad_factor: Mapping[AccountTier, float] = field(default_factory=lambda: {
        AccountTier.STRATEGIC: 0.25, AccountTier.KEY: 0.5, AccountTier.STANDARD: 1.0})
    speed_factor: Mapping[AccountTier, float] = field(default_factory=lambda: {
        AccountTier.STRATEGIC: 0.4, AccountTier.KEY: 0.7, AccountTier.STANDARD: 1.0})
    blind: frozenset[ContactPoint] = frozenset()

    def bad(self, contact_point: ContactPoint, tier: AccountTier) -> float:
        return 1.0 if contact_point in self.blind else self.bad_factor.get(tier, 1.0)

    def speed(self, contact_point: ContactPoint, tier: AccountTier) -> float:
        return 1.0 if contact_point in self.blind else self.speed_factor.get(tier, 1.0)


def served_faster(payload: Payload, at: datetime, factor: float) -> Payload:
    """``payload`` with each elapsed time up to ``at`` scaled by ``factor`` (whole seconds)."""
    if factor == 1.0:
        return payload
    faster = dict(payload)
    for name in ELAPSED_FIELDS:
        if name in faster:
            began = datetime.fromisoformat(faster[name])
            faster[name] = _ago(at, (at - began).total_seconds() * factor)
    return faster


@dataclass(frozen=True, kw_only=True)
class AccountBehaviour:
    """How one account behaves whatever its tier (``SimulationConfig.behaviour``): its share of
    the events (``activity``, the weight of its tier by default), a factor on its chance of bad
    experiences (disputes, escalations, failed deliveries, returns: what it costs), on the
    amounts it orders and is billed, and the share of its payments made on time (``on_time``;
    ``None``: the usual mix)."""

    activity: float | None = None
    bad_factor: float = 1.0
    amount_factor: float = 1.0
    on_time: float | None = None

    def apply(self, payload: Payload, rng: random.Random) -> Payload:
        """``payload`` with this behaviour's amounts and payment punctuality."""
        changed = dict(payload)
        if "amount" in changed and self.amount_factor != 1.0:
            changed["amount"] = round(changed["amount"] * self.amount_factor, 2)
        if "days_late" in changed and self.on_time is not None:
            changed["days_late"] = 0 if rng.random() < self.on_time else rng.randint(5, 60)
        return changed


BEHAVES_STRATEGIC = AccountBehaviour(activity=3.0, bad_factor=0.25, amount_factor=2.0,
                                     on_time=1.0)  # fmt: skip
"""Orders, is billed, pays and costs like a well-served strategic account."""
COSTS_MORE_THAN_IT_GIVES = AccountBehaviour(activity=1.0, bad_factor=5.0, amount_factor=0.3,
                                            on_time=0.2)  # fmt: skip
"""Little business, late payments, many problems: a strategic account that does not
reciprocate."""


def tiers_ignored_by(contact_point: ContactPoint) -> TierService:
    """Every department serves strategic accounts better except ``contact_point`` (the demo:
    support answers strategic accounts no faster than standard ones)."""
    return TierService(blind=frozenset({contact_point}))
