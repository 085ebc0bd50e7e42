"""What a plain client can publish that the JSON Schema forbids (issue 10), and its dead letter.

Each entry: a name, the raw bytes, and the ``(failure_type, field_path, detail)`` the SDK and
the worker must give it. Shared by the unit test of the classification and the broker test.
"""

from __future__ import annotations

import json
from typing import Any

from schemas import FailureType

OCCURRED_AT = "2026-01-01T09:00:00Z"


def document(event_type: str, payload: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """A valid envelope around ``payload``; ``envelope`` overrides its fields."""
    return {
        "event_id": f"hostile-{event_type}",
        "account_id": "acme",
        "event_type": event_type,
        "occurred_at": OCCURRED_AT,
        "source_system": "plain-client",
        "payload": payload,
        **envelope,
    }


def raw(value: dict[str, Any], **tokens: str) -> bytes:
    """JSON bytes with each ``"<name>"`` placeholder string replaced by a bare token."""
    text = json.dumps(value)
    for name, token in tokens.items():
        text = text.replace(json.dumps(f"<{name}>"), token)
    return text.encode()


DELIVERY = {
    "shipment_id": "SH-1",
    "promised_at": OCCURRED_AT,
    "delivered_at": OCCURRED_AT,
    "ordered_qty": 10,
    "delivered_qty": 10,
}
CREDIT_NOTE = {"invoice_id": "INV-1", "amount": 10.0, "caused_by_error": True}
VIOLATION = FailureType.SCHEMA_VIOLATION
NOT_INT = "Input should be a valid integer"
NOT_NUMBER = "Input should be a valid number"
NOT_FINITE = "Input should be a finite number"
NOT_TIME = "Input should be an RFC 3339 date-time string"

HOSTILE: list[tuple[str, bytes, tuple[FailureType, str, str]]] = [
    ("csat_string", raw(document("csat_submitted", {"score": "5"})),
     (VIOLATION, "payload.score", NOT_INT)),
    ("csat_true", raw(document("csat_submitted", {"score": True})),
     (VIOLATION, "payload.score", NOT_INT)),
    ("quantity_string", raw(document("delivery_completed", {**DELIVERY, "ordered_qty": "10"})),
     (VIOLATION, "payload.ordered_qty", NOT_INT)),
    ("amount_string", raw(document("order_placed", {"order_id": "O-1", "amount": "12.5"})),
     (VIOLATION, "payload.amount", NOT_NUMBER)),
    ("bool_string", raw(document("credit_note_issued", {**CREDIT_NOTE, "caused_by_error": "yes"})),
     (VIOLATION, "payload.caused_by_error", "Input should be a valid boolean")),
    ("epoch_number", raw(document("csat_submitted", {"score": 4}, occurred_at=1767225600)),
     (VIOLATION, "occurred_at", NOT_TIME)),
    ("epoch_string", raw(document("csat_submitted", {"score": 4}, occurred_at="1767225600")),
     (VIOLATION, "occurred_at",
      "Input should be an RFC 3339 date-time with an offset, years 1900-2999 "
      "(2026-01-01T09:00:00Z)")),
    ("version_true", raw(document("csat_submitted", {"score": 4}, schema_version=True)),
     (VIOLATION, "schema_version", NOT_INT)),
    ("amount_infinity",
     raw(document("order_placed", {"order_id": "O-1", "amount": "<inf>"}), inf="Infinity"),
     (VIOLATION, "payload.amount", NOT_FINITE)),
    ("amount_1e309",
     raw(document("order_placed", {"order_id": "O-1", "amount": "<big>"}), big="1e309"),
     (VIOLATION, "payload.amount", NOT_FINITE)),
    ("quantity_1e20",
     raw(document("delivery_completed", {**DELIVERY, "ordered_qty": 10**20})),
     (VIOLATION, "payload.ordered_qty", "Input should be less than or equal to 1000000000")),
    ("extra_field_same_version",
     raw(document("csat_submitted", {"score": 4, "comment": "great"})),
     (VIOLATION, "payload.comment", "Extra inputs are not permitted")),
    ("next_version", raw(document("csat_submitted", {"score": 4}, schema_version=2)),
     (FailureType.UNSUPPORTED_SCHEMA_VERSION, "schema_version", "Input should be 1")),
]  # fmt: skip
"""Issue 10's hostile classes, plus the two evolution cases (docs/wire-format.md)."""
