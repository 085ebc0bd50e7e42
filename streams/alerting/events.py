"""Event-level rules: is this single touchpoint a bad experience, and how bad?

Called for every enriched event, so the good path allocates nothing: one dict lookup on the
event type and a few comparisons. Evidence holds JSON-compatible primitives only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import Severity, Touchpoint
from schemas.touchpoints import (
    CreditNoteIssued,
    CsatSubmitted,
    DeliveryCompleted,
    DeliveryFailed,
    InvoiceDisputed,
    NpsSubmitted,
    OrderChanged,
    OrderConfirmed,
    PaymentFailed,
    QuoteSent,
    ReturnReceived,
    TicketEscalated,
    TicketFirstResponse,
    TicketReopened,
    TicketResolved,
)
from streams.alerting.config import EventRuleId, EventRules

SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
"""Lower is worse: sort by it to put the worst first."""

DEFAULT_SEVERITY: dict[str, Severity] = {
    "failed_delivery": Severity.CRITICAL,
    "supplier_cancellation": Severity.CRITICAL,
}
"""Base severity of the rules that are not warnings by default."""

DEFAULT_EVENT_RULES = EventRules()


@dataclass(frozen=True, slots=True)
class BadExperience:
    """Why one touchpoint is a bad experience, in plain words and with evidence."""

    rule: str
    severity: Severity
    summary: str
    evidence: dict[str, Any]


def duration_words(seconds: float) -> str:
    """``330`` min -> ``"5 h 30 min"``; days from 48 h on; whole minutes below an hour."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _found(
    rules: EventRules,
    rule: EventRuleId,
    summary: str,
    evidence: dict[str, Any],
    *,
    critical: bool = False,
) -> BadExperience:
    severity = (
        Severity.CRITICAL
        if critical
        else rules.severity.get(
            rule,
            DEFAULT_SEVERITY.get(rule, Severity.WARNING),
        )
    )
    return BadExperience(rule, severity, summary, evidence)


def _because(reason: str) -> str:
    return f": {reason}" if reason else ""


def _elapsed(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _delivery(event: DeliveryCompleted, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    found: list[BadExperience] = []
    delay = _elapsed(p.promised_at, p.delivered_at)
    if delay > rules.late_delivery_grace_minutes * 60:
        found.append(
            _found(
                rules,
                "late_delivery",
                f"Shipment {p.shipment_id} delivered {duration_words(delay)} late",
                {
                    "shipment_id": p.shipment_id,
                    "delay_minutes": round(delay / 60, 1),
                    "promised_at": p.promised_at.isoformat(),
                    "delivered_at": p.delivered_at.isoformat(),
                },
                critical=delay >= rules.late_delivery_critical_hours * 3600,
            )
        )
    if p.delivered_qty < p.ordered_qty:
        found.append(
            _found(
                rules,
                "short_delivery",
                f"Shipment {p.shipment_id} delivered short: "
                f"{p.delivered_qty} of {p.ordered_qty} units",
                {
                    "shipment_id": p.shipment_id,
                    "ordered_qty": p.ordered_qty,
                    "delivered_qty": p.delivered_qty,
                },
            )
        )
    if p.damaged_qty:
        found.append(
            _found(
                rules,
                "damaged_goods",
                f"Shipment {p.shipment_id} arrived with {p.damaged_qty} damaged units",
                {
                    "shipment_id": p.shipment_id,
                    "damaged_qty": p.damaged_qty,
                    "delivered_qty": p.delivered_qty,
                },
            )
        )
    return tuple(found)


def _failed_delivery(event: DeliveryFailed, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    return (
        _found(
            rules,
            "failed_delivery",
            f"Delivery of shipment {p.shipment_id} failed{_because(p.reason)}",
            {"shipment_id": p.shipment_id, "reason": p.reason},
        ),
    )


def _return(event: ReturnReceived, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    return (
        _found(
            rules,
            "return_received",
            f"Return of {p.quantity} units received for shipment {p.shipment_id}"
            f"{_because(p.reason)}",
            {"shipment_id": p.shipment_id, "quantity": p.quantity, "reason": p.reason},
        ),
    )


def _sla_check(
    event: TicketFirstResponse | TicketResolved, rules: EventRules, *, resolution: bool
) -> tuple[BadExperience, ...]:
    p = event.payload
    sla = rules.sla[p.priority]
    target = (sla.resolution_minutes if resolution else sla.first_response_minutes) * 60
    elapsed = _elapsed(p.opened_at, event.occurred_at)
    if elapsed <= target:
        return ()
    rule: EventRuleId = "resolution_sla_breach" if resolution else "first_response_sla_breach"
    what = "Resolution" if resolution else "First response"
    return (
        _found(
            rules,
            rule,
            f"{what} of {p.priority.value} ticket {p.ticket_id} took {duration_words(elapsed)} "
            f"(SLA {duration_words(target)})",
            {
                "ticket_id": p.ticket_id,
                "priority": p.priority.value,
                "elapsed_minutes": round(elapsed / 60, 1),
                "sla_minutes": target / 60,
            },
            critical=elapsed >= target * rules.sla_critical_factor,
        ),
    )


def _first_response(event: TicketFirstResponse, rules: EventRules) -> tuple[BadExperience, ...]:
    return _sla_check(event, rules, resolution=False)


def _resolution(event: TicketResolved, rules: EventRules) -> tuple[BadExperience, ...]:
    return _sla_check(event, rules, resolution=True)


def _reopened(event: TicketReopened, rules: EventRules) -> tuple[BadExperience, ...]:
    ticket = event.payload.ticket_id
    return (
        _found(rules, "ticket_reopened", f"Ticket {ticket} was reopened", {"ticket_id": ticket}),
    )


def _escalated(event: TicketEscalated, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    return (
        _found(
            rules,
            "ticket_escalated",
            f"Ticket {p.ticket_id} escalated to level {p.level}{_because(p.reason)}",
            {"ticket_id": p.ticket_id, "level": p.level, "reason": p.reason},
            critical=p.level >= rules.escalation_critical_level,
        ),
    )


def _csat(event: CsatSubmitted, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    if p.score > rules.csat_bad_max:
        return ()
    on_ticket = f" on ticket {p.ticket_id}" if p.ticket_id else ""
    return (
        _found(
            rules,
            "low_csat",
            f"CSAT score {p.score} of 5{on_ticket}",
            {"score": p.score, "ticket_id": p.ticket_id},
        ),
    )


def _nps(event: NpsSubmitted, rules: EventRules) -> tuple[BadExperience, ...]:
    score = event.payload.score
    if score > rules.nps_detractor_max:
        return ()
    return (
        _found(rules, "nps_detractor", f"NPS detractor: score {score} of 10", {"score": score}),
    )


def _disputed(event: InvoiceDisputed, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    return (
        _found(
            rules,
            "invoice_disputed",
            f"Invoice {p.invoice_id} disputed: {p.reason}",
            {"invoice_id": p.invoice_id, "reason": p.reason, "amount_disputed": p.amount_disputed},
        ),
    )


def _payment_failed(event: PaymentFailed, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    return (
        _found(
            rules,
            "payment_failed",
            f"Payment of invoice {p.invoice_id} failed{_because(p.reason)}",
            {"invoice_id": p.invoice_id, "reason": p.reason},
        ),
    )


def _credit_note(event: CreditNoteIssued, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    if not p.caused_by_error:
        return ()
    return (
        _found(
            rules,
            "credit_note_error",
            f"Credit note of {p.amount:.2f} on invoice {p.invoice_id} corrects our error"
            f"{_because(p.reason)}",
            {"invoice_id": p.invoice_id, "amount": p.amount, "reason": p.reason},
        ),
    )


def _order_changed(event: OrderChanged, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    if p.change != "cancelled" or p.initiated_by != "supplier":
        return ()
    return (
        _found(
            rules,
            "supplier_cancellation",
            f"Order {p.order_id} cancelled on our side{_because(p.reason)}",
            {"order_id": p.order_id, "reason": p.reason},
        ),
    )


def _slow(
    rules: EventRules,
    rule: EventRuleId,
    what: str,
    *,
    elapsed: float,
    target_hours: float,
    ids: dict[str, Any],
) -> tuple[BadExperience, ...]:
    target = target_hours * 3600
    if elapsed <= target:
        return ()
    return (
        _found(
            rules,
            rule,
            f"{what} took {duration_words(elapsed)} (target {duration_words(target)})",
            {**ids, "elapsed_hours": round(elapsed / 3600, 2), "target_hours": target_hours},
        ),
    )


def _quote_sent(event: QuoteSent, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    elapsed = _elapsed(p.requested_at, event.occurred_at)
    return _slow(
        rules,
        "slow_quote",
        f"Quote {p.quote_id}",
        elapsed=elapsed,
        target_hours=rules.slow_quote_hours,
        ids={"quote_id": p.quote_id},
    )


def _order_confirmed(event: OrderConfirmed, rules: EventRules) -> tuple[BadExperience, ...]:
    p = event.payload
    elapsed = _elapsed(p.placed_at, event.occurred_at)
    return _slow(
        rules,
        "slow_order_confirmation",
        f"Confirmation of order {p.order_id}",
        elapsed=elapsed,
        target_hours=rules.slow_order_confirmation_hours,
        ids={"order_id": p.order_id},
    )


_CHECKS: dict[str, Callable[[Any, EventRules], tuple[BadExperience, ...]]] = {
    "delivery_completed": _delivery,
    "delivery_failed": _failed_delivery,
    "return_received": _return,
    "ticket_first_response": _first_response,
    "ticket_resolved": _resolution,
    "ticket_reopened": _reopened,
    "ticket_escalated": _escalated,
    "csat_submitted": _csat,
    "nps_submitted": _nps,
    "invoice_disputed": _disputed,
    "payment_failed": _payment_failed,
    "credit_note_issued": _credit_note,
    "order_changed": _order_changed,
    "quote_sent": _quote_sent,
    "order_confirmed": _order_confirmed,
}


def bad_experiences(
    event: Touchpoint, rules: EventRules = DEFAULT_EVENT_RULES
) -> tuple[BadExperience, ...]:
    """Every rule this event breaks, in rule order (a delivery can be late, short and damaged)."""
    check = _CHECKS.get(event.event_type)
    if check is None:
        return ()
    found = check(event, rules)
    if found and rules.disabled:
        found = tuple(bad for bad in found if bad.rule not in rules.disabled)
    return found


def bad_experience(
    event: Touchpoint, rules: EventRules = DEFAULT_EVENT_RULES
) -> BadExperience | None:
    """The worst rule this event breaks (most severe, then rule order), or ``None``."""
    found = bad_experiences(event, rules)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return min(found, key=lambda bad: SEVERITY_RANK[bad.severity])
