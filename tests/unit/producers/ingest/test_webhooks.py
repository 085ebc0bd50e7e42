"""Zendesk and Stripe payloads onto the catalogue; what maps onto nothing is a dead letter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from producers import to_touchpoint
from producers.ingest import IngestConfigError, Invalid, Valid
from producers.ingest.webhooks import (
    AccountMap,
    StripeWebhook,
    Unmapped,
    ZendeskWebhook,
    load_account_map,
    map_stripe,
    map_zendesk,
)
from schemas import FailureType

ACCOUNTS = AccountMap(
    {"zendesk.organizations": {"360001": "acme"}, "stripe.customers": {"cus_A": "acme"}}
)
CREATED, UPDATED = "2026-03-02T09:00:00Z", "2026-03-02T09:40:00Z"


def ticket(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind, "ticket_id": "T-88", "organization_id": "360001", "priority": "Urgent",
        "created_at": CREATED, "updated_at": UPDATED, "via": "Mail", **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "fields", "event_type", "payload", "occurred_at"),
    [
        ("ticket_created", {}, "ticket_opened",
         {"ticket_id": "T-88", "priority": "urgent", "channel": "mail"}, CREATED),
        ("first_reply", {}, "ticket_first_response",
         {"ticket_id": "T-88", "priority": "urgent", "opened_at": CREATED}, UPDATED),
        ("solved", {"priority": ""}, "ticket_resolved",
         {"ticket_id": "T-88", "priority": "normal", "opened_at": CREATED}, UPDATED),
        ("reopened", {}, "ticket_reopened", {"ticket_id": "T-88"}, UPDATED),
        ("satisfaction_rated", {"satisfaction_score": "Bad"}, "csat_submitted",
         {"ticket_id": "T-88", "score": 1}, UPDATED),
        ("satisfaction_rated", {"satisfaction_score": "4"}, "csat_submitted",
         {"ticket_id": "T-88", "score": 4}, UPDATED),
    ],
)  # fmt: skip
def test_zendesk_triggers_map_onto_support_events(
    kind: str, fields: dict[str, Any], event_type: str, payload: dict[str, Any], occurred_at: str
) -> None:
    event = map_zendesk(ticket(kind, **fields), ACCOUNTS)
    assert (event["event_type"], event["payload"], event["occurred_at"]) == (
        event_type, payload, occurred_at,
    )  # fmt: skip
    assert event["account_id"] == "acme"
    to_touchpoint({**event, "source_system": "zendesk"})  # a valid catalogue event
    assert map_zendesk(ticket(kind, **fields), ACCOUNTS)["event_id"] == event["event_id"]


def test_zendesk_event_ids_differ_per_kind_and_time() -> None:
    ids = {
        map_zendesk(ticket("reopened", updated_at=t), ACCOUNTS)["event_id"]
        for t in (UPDATED, "2026-03-03T09:00:00Z")
    } | {map_zendesk(ticket("solved"), ACCOUNTS)["event_id"]}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (ticket("ticket_merged"), "kind"),
        (ticket("solved", organization_id="999"), "organization_id"),
        ({k: v for k, v in ticket("solved").items() if k != "organization_id"}, "organization_id"),
        (ticket("satisfaction_rated", satisfaction_score="meh"), "satisfaction_score"),
        (ticket("solved", updated_at=None), "updated_at"),
        (  # Zendesk's event-subscription format: not a trigger body, kept as a dead letter
            {"type": "zen:event-type:ticket.created", "subject": "zen:ticket:35436",
             "detail": {"id": "35436", "organization_id": "360001"}},
            "kind",
        ),
    ],
)
def test_zendesk_payloads_that_map_onto_nothing_say_where(
    payload: dict[str, Any], path: str
) -> None:
    with pytest.raises(Unmapped) as info:
        map_zendesk(payload, ACCOUNTS)
    assert info.value.path == path


def stripe(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": "evt_1", "type": kind, "created": 1_772_442_000, "data": {"object": obj}}


INVOICE = {
    "id": "in_1", "object": "invoice", "customer": "cus_A", "currency": "eur",
    "amount_due": 48_250, "amount_paid": 48_250, "created": 1_772_000_000,
    "due_date": 1_772_400_000, "attempt_count": 2,
    "status_transitions": {"paid_at": 1_772_400_000 + 3 * 86_400 + 5},
}  # fmt: skip
DISPUTE = {
    "id": "dp_1", "object": "dispute", "charge": "ch_1", "amount": 1_320, "currency": "eur",
    "reason": "product_unacceptable", "created": 1_772_300_000, "status": "lost",
    "metadata": {"kam_account_id": "acme", "invoice_id": "in_1"},
}  # fmt: skip
CREDIT_NOTE = {
    "id": "cn_1", "object": "credit_note", "customer": "cus_A", "invoice": "in_1",
    "total": 1_000, "currency": "jpy", "reason": "duplicate",
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "obj", "event_type", "payload"),
    [
        ("invoice.created", INVOICE, "invoice_issued",
         {"invoice_id": "in_1", "amount": 482.5, "currency": "EUR",
          "due_at": "2026-03-01T21:20:00Z"}),
        ("invoice.paid", INVOICE, "payment_received",
         {"invoice_id": "in_1", "amount": 482.5, "days_late": 3}),
        ("invoice.payment_failed", INVOICE, "payment_failed",
         {"invoice_id": "in_1", "reason": "payment attempt 2 failed"}),
        ("charge.dispute.created", DISPUTE, "invoice_disputed",
         {"invoice_id": "in_1", "reason": "product_unacceptable", "amount_disputed": 13.2}),
        ("charge.dispute.closed", DISPUTE, "dispute_resolved",
         {"invoice_id": "in_1", "disputed_at": "2026-02-28T17:33:20Z", "outcome": "credited"}),
        ("credit_note.created", CREDIT_NOTE, "credit_note_issued",
         {"invoice_id": "in_1", "amount": 1000.0, "caused_by_error": True,
          "reason": "duplicate"}),
    ],
)  # fmt: skip
def test_stripe_events_map_onto_billing_events(
    kind: str, obj: dict[str, Any], event_type: str, payload: dict[str, Any]
) -> None:
    event = map_stripe(stripe(kind, obj), ACCOUNTS)
    assert (event["event_type"], event["payload"]) == (event_type, payload)
    assert (event["event_id"], event["account_id"]) == ("stripe-evt_1", "acme")
    assert event["occurred_at"] == "2026-03-02T09:00:00Z"
    to_touchpoint({**event, "source_system": "stripe"})


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (stripe("customer.created", {"id": "cus_B"}), "type"),
        (stripe("invoice.paid", {**INVOICE, "customer": "cus_Z"}), "data.object.customer"),
        (stripe("charge.dispute.created", {**DISPUTE, "metadata": {}}), "data.object.customer"),
        (stripe("charge.dispute.closed", {**DISPUTE, "status": "under_review"}),
         "data.object.status"),
        (stripe("invoice.created", {**INVOICE, "amount_due": "1"}), "data.object.amount_due"),
        ({"id": "evt_1", "type": "invoice.paid", "created": 1}, "data.object"),
    ],
)  # fmt: skip
def test_stripe_events_that_map_onto_nothing_say_where(event: dict[str, Any], path: str) -> None:
    with pytest.raises(Unmapped) as info:
        map_stripe(event, ACCOUNTS)
    assert info.value.path == path


def test_webhook_verdicts_keep_the_vendors_bytes_in_the_dead_letter() -> None:
    zendesk = ZendeskWebhook(secret="s", accounts=ACCOUNTS, tolerance=300)
    [valid] = zendesk.verdicts(json.dumps(ticket("solved")).encode())
    assert isinstance(valid, Valid) and valid.event.source_system == "zendesk"
    body = json.dumps(ticket("solved", organization_id="999")).encode()
    [unmapped] = zendesk.verdicts(body)
    assert isinstance(unmapped, Invalid) and unmapped.raw == body
    assert unmapped.rejection.failure_type is FailureType.UNMAPPED
    assert unmapped.rejection.field_path == "organization_id"
    # mapped, but not a valid event (a negative amount): the SDK's rejection, the vendor's bytes
    invoice = json.dumps(stripe("invoice.paid", {**INVOICE, "amount_paid": -5})).encode()
    [invalid] = StripeWebhook(secret="s", accounts=ACCOUNTS, tolerance=300).verdicts(invoice)
    assert isinstance(invalid, Invalid) and invalid.raw == invoice
    assert (invalid.rejection.failure_type, invalid.rejection.field_path) == (
        FailureType.SCHEMA_VIOLATION, "payload.amount",
    )  # fmt: skip


def test_the_account_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[zendesk.organizations]\n360001 = "acme"\n[stripe.customers]\ncus_A = "acme"\n'
    )
    assert load_account_map(path) == ACCOUNTS
    path.write_text("[stripe.customers]\ncus_A = 5\n")
    with pytest.raises(IngestConfigError, match=r"stripe\.customers"):
        load_account_map(path)
