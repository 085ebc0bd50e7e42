"""The answer to a request: per event accepted, rejected or not stored; one status. Pure.

An event counts as *accepted* only once the broker acknowledged it on the touchpoints topic; a
*rejected* event is answered with its dead letter's failure type, field path and issues and
is itself kept as that dead letter. When the broker did not acknowledge every record of the
request (an outage, a timeout) the status is 503 whatever else happened: no 2xx ever covers
an event that is not stored, and the body says which ones were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from producers.exceptions import DeliveryError
from producers.ingest.documents import Invalid, Valid, Verdict
from producers.publisher import DeliveryResult


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verdict and what the broker made of its record (the event or its dead letter)."""

    verdict: Verdict
    stored: DeliveryResult | None = None
    error: DeliveryError | None = None

    @property
    def label(self) -> str:
        """``accepted``, ``rejected`` or ``unavailable`` (the metrics' outcome label)."""
        if self.stored is None:
            return "unavailable"
        return "accepted" if isinstance(self.verdict, Valid) else "rejected"


def event_answer(outcome: Outcome) -> dict[str, Any]:
    verdict, stored = outcome.verdict, outcome.stored
    item: dict[str, Any] = {"index": verdict.index}
    if isinstance(verdict, Valid):
        item |= {"event_id": verdict.event.event_id}
        if stored is not None:
            return item | {
                "status": "accepted",
                "partition": stored.partition,
                "offset": stored.offset,
            }
    else:
        if verdict.event_id is not None:
            item |= {"event_id": verdict.event_id}
        item |= _rejection(verdict) | {"dead_letter_stored": stored is not None}
        if stored is not None:
            return item | {"status": "rejected"}
    error = outcome.error
    return item | {
        "status": "unavailable",
        "error": error.code if error else "timed_out",
        "retry": True,
    }


def _rejection(verdict: Invalid) -> dict[str, Any]:
    rejection = verdict.rejection
    return {
        "failure_type": rejection.failure_type.value,
        "field_path": rejection.field_path,
        "detail": rejection.detail,
        "issues": [{"path": i.path, "message": i.message} for i in rejection.issues],
    }


def request_status(outcomes: list[Outcome]) -> int:
    """200 all accepted, 207 some rejected, 422 all rejected, 503 anything not stored."""
    labels = {outcome.label for outcome in outcomes}
    if "unavailable" in labels:
        return 503
    if labels == {"accepted"}:
        return 200
    return 422 if labels == {"rejected"} else 207


def request_answer(
    outcomes: list[Outcome], *, request_id: str, source_system: str
) -> dict[str, Any]:
    labels = [outcome.label for outcome in outcomes]
    return {
        "request_id": request_id,
        "source_system": source_system,
        "accepted": labels.count("accepted"),
        "rejected": labels.count("rejected"),
        "unavailable": labels.count("unavailable"),
        "events": [event_answer(outcome) for outcome in outcomes],
    }


def refusal(code: str, message: str, *, request_id: str) -> dict[str, Any]:
    """The body of a request refused as a whole (4xx/5xx before any event was stored)."""
    return {"request_id": request_id, "error": code, "message": message}
