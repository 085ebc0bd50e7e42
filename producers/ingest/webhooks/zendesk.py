"""Zendesk ticket events from triggers' webhooks onto the support catalogue. Pure mapping.

Zendesk sends what a trigger's "Notify webhook" action writes: one JSON body per trigger,
built from placeholders (docs/ingest.md has the body for each of the five triggers). ``kind``
says which trigger fired; the ticket's organization is the account, through the mapping's
``[zendesk.organizations]``. The event id is derived from ticket, kind and time, so a webhook
Zendesk sends again is the same event (counted once).
"""

from __future__ import annotations

import hashlib
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
    verdict_of,
)
from producers.ingest.webhooks.signatures import verify_zendesk

KINDS = {
    "ticket_created": "ticket_opened",
    "first_reply": "ticket_first_response",
    "solved": "ticket_resolved",
    "reopened": "ticket_reopened",
    "satisfaction_rated": "csat_submitted",
}
"""``kind`` of the trigger body -> catalogue event type."""
CSAT_WORDS = {"good": 5, "bad": 1}
"""Zendesk's binary satisfaction rating on the 1-5 scale; a 1-5 digit is taken as it is."""


def map_zendesk(payload: Mapping[str, Any], accounts: AccountMap) -> dict[str, Any]:
    """The catalogue event of one trigger body; raises :class:`Unmapped`."""
    kind = at(payload, "kind")
    event_type = KINDS.get(kind) if isinstance(kind, str) else None
    if event_type is None:
        raise Unmapped("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    organization = at(payload, "organization_id")
    account_id = accounts.account("zendesk.organizations", organization)
    if account_id is None:
        raise Unmapped(
            "organization_id", f"organization {organization} is not in the account mapping"
        )
    ticket_id = str(at(payload, "ticket_id"))
    created_at = at(payload, "created_at")
    occurred_at = created_at if kind == "ticket_created" else at(payload, "updated_at")
    priority = str(optional(payload, "priority") or "normal").strip().lower() or "normal"
    payloads: dict[str, dict[str, Any]] = {
        "ticket_opened": {
            "ticket_id": ticket_id,
            "priority": priority,
            "channel": str(optional(payload, "via") or "web").lower(),
        },
        "ticket_first_response": {
            "ticket_id": ticket_id, "priority": priority, "opened_at": created_at,
        },
        "ticket_resolved": {"ticket_id": ticket_id, "priority": priority, "opened_at": created_at},
        "ticket_reopened": {"ticket_id": ticket_id},
    }  # fmt: skip
    body = payloads.get(event_type) or {"ticket_id": ticket_id, "score": _score(payload)}
    return {
        "event_id": _event_id(ticket_id, kind, str(occurred_at)),
        "account_id": account_id,
        "occurred_at": occurred_at,
        "event_type": event_type,
        "payload": body,
    }


def _score(payload: Mapping[str, Any]) -> int:
    rating = str(at(payload, "satisfaction_score")).strip().lower()
    if rating in CSAT_WORDS:
        return CSAT_WORDS[rating]
    if rating in {"1", "2", "3", "4", "5"}:
        return int(rating)
    raise Unmapped("satisfaction_score", f"{rating!r} is not good, bad or 1-5")


def _event_id(ticket_id: str, kind: str, occurred_at: str) -> str:
    digest = hashlib.sha256(f"{ticket_id}|{kind}|{occurred_at}".encode()).hexdigest()[:16]
    return f"zendesk-{ticket_id[:64]}-{kind}-{digest}"


@dataclass(frozen=True, slots=True)
class ZendeskWebhook:
    secret: str
    accounts: AccountMap
    tolerance: float
    name: str = "zendesk"
    source_system: str = "zendesk"

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float) -> None:
        verify_zendesk(headers, body, secret=self.secret, now=now, tolerance=self.tolerance)

    def verdicts(self, body: bytes) -> list[Verdict]:
        payload = decode_payload(body)
        try:
            mapped: dict[str, Any] | Unmapped = map_zendesk(payload, self.accounts)
        except Unmapped as unmapped:
            mapped = unmapped
        return [verdict_of(body, self.source_system, mapped)]
