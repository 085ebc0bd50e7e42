"""Sales KPIs: quote turnaround, order confirmation, supplier cancellations and executive
contact.

``days_since_executive_contact`` is counted in whole days (:func:`days_since`): it changes only
when a full day has passed since the last meeting, so the worker can send it again exactly then
(:func:`next_day_step`, via ``ContactPointState.next_change``) and its latest row stays true as
time passes; a fraction of a day would change every second and no discrete update could.
"""

from __future__ import annotations

from enum import IntEnum

from schemas.touchpoints import (
    ContactPoint,
    OrderChanged,
    OrderConfirmed,
    OrderPlaced,
    QuoteSent,
    Touchpoint,
)
from streams.kpis.spec import (
    ContactPointSpec,
    Kpis,
    Observation,
    SlaTable,
    Totals,
    ratio,
    seconds_between,
)


class C(IntEnum):
    QUOTES_SENT = 0
    QUOTE_TURNAROUND_S = 1
    ORDERS_PLACED = 2
    CONFIRMATIONS = 3
    CONFIRMATION_S = 4
    SUPPLIER_CANCELLATIONS = 5


def observe(event: Touchpoint, _sla: SlaTable) -> Observation | None:
    """Counter increments; ``executive_meeting_held`` is kept by the state, not counted."""
    if isinstance(event, QuoteSent):
        seconds = seconds_between(event.occurred_at, event.payload.requested_at)
        return ((C.QUOTES_SENT, 1), (C.QUOTE_TURNAROUND_S, seconds)), ()
    if isinstance(event, OrderPlaced):
        return ((C.ORDERS_PLACED, 1),), ()
    if isinstance(event, OrderConfirmed):
        seconds = seconds_between(event.occurred_at, event.payload.placed_at)
        return ((C.CONFIRMATIONS, 1), (C.CONFIRMATION_S, seconds)), ()
    if isinstance(event, OrderChanged):
        p = event.payload
        supplier_cancelled = p.change == "cancelled" and p.initiated_by == "supplier"
        return (((C.SUPPLIER_CANCELLATIONS, 1),), ()) if supplier_cancelled else None
    return None


DAY_SECONDS = 86_400


def days_since(as_of: int, last: int) -> int:
    """Whole days from ``last`` to ``as_of`` (epoch seconds): 0 until 24 h have passed, then
    1, and so on; never negative (a meeting after ``as_of`` counts 0)."""
    return max(0, as_of - last) // DAY_SECONDS


def next_day_step(as_of: int, last: int) -> int:
    """The first moment after ``as_of`` at which :func:`days_since` ``last`` grows by one."""
    return last + (days_since(as_of, last) + 1) * DAY_SECONDS


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def kpis(t: Totals) -> Kpis:
    c = t.counts
    last = t.last_executive_at
    return {
        "quote_turnaround_hours_avg": _hours(ratio(c[C.QUOTE_TURNAROUND_S], c[C.QUOTES_SENT])),
        "order_confirmation_hours_avg": _hours(ratio(c[C.CONFIRMATION_S], c[C.CONFIRMATIONS])),
        "supplier_cancellation_rate": ratio(c[C.SUPPLIER_CANCELLATIONS], c[C.ORDERS_PLACED]),
        "days_since_executive_contact": None if last is None else float(days_since(t.as_of, last)),
    }


SPEC = ContactPointSpec(
    contact_point=ContactPoint.SALES,
    counters=C,
    histograms=(),
    observe=observe,
    kpis=kpis,
)
