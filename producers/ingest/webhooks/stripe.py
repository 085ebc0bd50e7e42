"""Stripe events onto the billing catalogue. Pure mapping.

Amounts are in the currency's minor unit (cents) as Stripe sends them, divided by 100 (the
zero-decimal currencies, JPY and the like, are taken as they are). The account is the
object's ``metadata.kam_account_id`` when set, else its ``customer`` through the mapping's
``[stripe.customers]``; a dispute carries no customer, so it needs the metadata or maps to
nothing. The event id is Stripe's (``stripe-evt_...``): an event sent again is counted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from producers.ingest.documents import Verdict
from producers.ingest.webhooks.base import (
    AccountMap,
    Unmapped,
    at,
    decode_payload,
    optional,
    unix_time,
    verdict_of,
)
from producers.ingest.webhooks.signatures import verify_stripe

ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)
DAY_SECONDS = 86_400
DISPUTE_OUTCOMES = {"won": "upheld", "lost": "credited", "warning_closed": "withdrawn"}
"""A dispute's final status -> the invoice's fate: upheld (we won), credited, withdrawn."""
ERROR_REASONS = frozenset({"duplicate"})
"""Credit-note reasons that are a billing error on our side (``caused_by_error``)."""
OBJECT = "data.object"


def map_stripe(event: Mapping[str, Any], accounts: AccountMap) -> dict[str, Any]:
    """The catalogue event of one Stripe event; raises :class:`Unmapped`."""
    kind = at(event, "type")
    mapper = MAPPERS.get(kind) if isinstance(kind, str) else None
    if mapper is None:
        raise Unmapped("type", f"Stripe event type {kind!r} is not mapped ({', '.join(MAPPERS)})")
    obj = at(event, OBJECT)
    event_type, payload = mapper(obj)
    return {
        "event_id": f"stripe-{at(event, 'id')}",
        "account_id": _account(obj, accounts),
        "occurred_at": unix_time(at(event, "created"), "created"),
        "event_type": event_type,
        "payload": payload,
    }


def _account(obj: Mapping[str, Any], accounts: AccountMap) -> str:
    metadata = optional(obj, "metadata.kam_account_id")
    if isinstance(metadata, str) and metadata:
        return metadata
    customer = optional(obj, "customer")
    if customer is None:
        raise Unmapped(f"{OBJECT}.customer", "missing, and no metadata.kam_account_id")
    account_id = accounts.account("stripe.customers", customer)
    if account_id is None:
        raise Unmapped(f"{OBJECT}.customer", f"customer {customer} is not in the account mapping")
    return account_id


def _money(obj: Mapping[str, Any], field_name: str) -> float:
    minor = at(obj, field_name)
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise Unmapped(f"{OBJECT}.{field_name}", "not an amount in minor units")
    currency = str(optional(obj, "currency") or "").lower()
    return float(minor) if currency in ZERO_DECIMAL else minor / 100


def _invoice_created(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    due = optional(obj, "due_date") or at(obj, "created")  # charged at once: due when created
    return "invoice_issued", {
        "invoice_id": at(obj, "id"),
        "amount": _money(obj, "amount_due"),
        "currency": str(at(obj, "currency")).upper(),
        "due_at": unix_time(due, f"{OBJECT}.due_date"),
    }


def _invoice_paid(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    paid_at = optional(obj, "status_transitions.paid_at")
    due = optional(obj, "due_date")
    late = 0
    if isinstance(paid_at, int) and isinstance(due, int) and paid_at > due:
        late = (paid_at - due) // DAY_SECONDS
    return "payment_received", {
        "invoice_id": at(obj, "id"),
        "amount": _money(obj, "amount_paid"),
        "days_late": late,
    }


def _invoice_payment_failed(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    attempts = optional(obj, "attempt_count")
    return "payment_failed", {
        "invoice_id": at(obj, "id"),
        "reason": f"payment attempt {attempts} failed" if attempts else "payment failed",
    }


def _dispute_invoice(obj: Mapping[str, Any]) -> Any:
    return optional(obj, "invoice") or optional(obj, "metadata.invoice_id") or at(obj, "charge")


def _dispute_created(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return "invoice_disputed", {
        "invoice_id": _dispute_invoice(obj),
        "reason": str(optional(obj, "reason") or "general"),
        "amount_disputed": _money(obj, "amount"),
    }


def _dispute_closed(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    status = at(obj, "status")
    if status not in DISPUTE_OUTCOMES:
        raise Unmapped(f"{OBJECT}.status", f"{status!r} is not a closed dispute's status")
    return "dispute_resolved", {
        "invoice_id": _dispute_invoice(obj),
        "disputed_at": unix_time(at(obj, "created"), f"{OBJECT}.created"),
        "outcome": DISPUTE_OUTCOMES[status],
    }


def _credit_note(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    reason = str(optional(obj, "reason") or "")
    return "credit_note_issued", {
        "invoice_id": at(obj, "invoice"),
        "amount": _money(obj, "total"),
        "caused_by_error": reason in ERROR_REASONS,
        "reason": reason or str(optional(obj, "memo") or ""),
    }


MAPPERS = {
    "invoice.created": _invoice_created,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
    "credit_note.created": _credit_note,
}


@dataclass(frozen=True, slots=True)
class StripeWebhook:
    secret: str
    accounts: AccountMap
    tolerance: float
    name: str = "stripe"
    source_system: str = "stripe"

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float) -> None:
        verify_stripe(headers, body, secret=self.secret, now=now, tolerance=self.tolerance)

    def verdicts(self, body: bytes) -> list[Verdict]:
        event = decode_payload(body)
        try:
            mapped: dict[str, Any] | Unmapped = map_stripe(event, self.accounts)
        except Unmapped as unmapped:
            mapped = unmapped
        return [verdict_of(body, self.source_system, mapped)]
