"""Billing KPIs: invoice accuracy, disputes, late and failed payments."""

from __future__ import annotations

from enum import IntEnum

from schemas.touchpoints import (
    ContactPoint,
    CreditNoteIssued,
    DisputeResolved,
    InvoiceDisputed,
    InvoiceIssued,
    PaymentFailed,
    PaymentReceived,
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
    ISSUED = 0
    DISPUTED = 1
    ERROR_CREDIT_NOTES = 2
    DISPUTES_RESOLVED = 3
    DISPUTE_RESOLUTION_S = 4
    PAYMENTS = 5
    PAYMENTS_LATE = 6
    DAYS_LATE = 7
    PAYMENT_FAILURES = 8


_COUNTS = {
    InvoiceIssued: C.ISSUED,
    InvoiceDisputed: C.DISPUTED,
    PaymentFailed: C.PAYMENT_FAILURES,
}


def observe(event: Touchpoint, _sla: SlaTable) -> Observation | None:
    if isinstance(event, CreditNoteIssued):
        return (((C.ERROR_CREDIT_NOTES, 1),), ()) if event.payload.caused_by_error else None
    if isinstance(event, DisputeResolved):
        seconds = seconds_between(event.occurred_at, event.payload.disputed_at)
        return ((C.DISPUTES_RESOLVED, 1), (C.DISPUTE_RESOLUTION_S, seconds)), ()
    if isinstance(event, PaymentReceived):
        days = event.payload.days_late
        return ((C.PAYMENTS, 1), (C.PAYMENTS_LATE, int(days > 0)), (C.DAYS_LATE, days)), ()
    counter = _COUNTS.get(type(event))
    return None if counter is None else (((counter, 1),), ())


def kpis(t: Totals) -> Kpis:
    c = t.counts
    errors = ratio(c[C.ERROR_CREDIT_NOTES] + c[C.DISPUTED], c[C.ISSUED])
    resolution_s = ratio(c[C.DISPUTE_RESOLUTION_S], c[C.DISPUTES_RESOLVED])
    return {
        "invoice_accuracy": None if errors is None else max(0.0, 1 - errors),
        "dispute_rate": ratio(c[C.DISPUTED], c[C.ISSUED]),
        "dispute_resolution_days_avg": None if resolution_s is None else resolution_s / 86400,
        "late_payment_rate": ratio(c[C.PAYMENTS_LATE], c[C.PAYMENTS]),
        "days_late_avg": ratio(c[C.DAYS_LATE], c[C.PAYMENTS]),
        "payment_failure_rate": ratio(c[C.PAYMENT_FAILURES], c[C.PAYMENTS] + c[C.PAYMENT_FAILURES]),
    }


SPEC = ContactPointSpec(
    contact_point=ContactPoint.BILLING,
    counters=C,
    histograms=(),
    observe=observe,
    kpis=kpis,
)
