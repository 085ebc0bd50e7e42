"""Answers: per event accepted / rejected / unavailable, and one status for the request."""

from __future__ import annotations

import pytest

from producers import DeliveryError, DeliveryResult, to_touchpoint
from producers.ingest import Invalid, Outcome, Valid, request_status
from producers.ingest.answers import request_answer
from schemas import FailureType
from schemas.validation import FieldIssue, Rejection

EVENT = to_touchpoint(
    {
        "event_id": "e-1", "account_id": "acme", "occurred_at": "2026-03-02T10:00:00Z",
        "source_system": "crm", "event_type": "nps_submitted", "payload": {"score": 9},
    }
)  # fmt: skip
VALID = Valid(0, EVENT)
INVALID = Invalid(
    1, Rejection(FailureType.SCHEMA_VIOLATION, (FieldIssue("payload.score", "too big"),)), b"{}"
)
STORED = DeliveryResult("t", 2, 17, "acme", "e-1", None)
LOST = DeliveryError(code="_MSG_TIMED_OUT", reason="timed out", retriable=True, topic="t", key="k")
ACCEPTED, REJECTED = Outcome(VALID, stored=STORED), Outcome(INVALID, stored=STORED)
UNSTORED, LETTER_LOST = Outcome(VALID, error=LOST), Outcome(INVALID, error=LOST)


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([ACCEPTED, ACCEPTED], 200),
        ([ACCEPTED, REJECTED], 207),
        ([REJECTED], 422),
        ([ACCEPTED, UNSTORED], 503),
        ([ACCEPTED, LETTER_LOST], 503),
        ([Outcome(VALID)], 503),  # no delivery report in time
    ],
)
def test_no_2xx_covers_an_event_that_is_not_stored(outcomes: list[Outcome], status: int) -> None:
    assert request_status(outcomes) == status


def test_the_answer_names_each_events_fate() -> None:
    answer = request_answer(
        [ACCEPTED, REJECTED, UNSTORED, LETTER_LOST, Outcome(VALID)],
        request_id="r-1", source_system="crm",
    )  # fmt: skip
    assert (answer["accepted"], answer["rejected"], answer["unavailable"]) == (1, 1, 3)
    events = answer["events"]
    assert events[0] == {
        "index": 0, "event_id": "e-1", "status": "accepted", "partition": 2, "offset": 17,
    }  # fmt: skip
    assert events[1] == {
        "index": 1, "status": "rejected", "failure_type": "schema_violation",
        "field_path": "payload.score", "detail": "too big",
        "issues": [{"path": "payload.score", "message": "too big"}], "dead_letter_stored": True,
    }  # fmt: skip
    assert events[2] == {
        "index": 0, "event_id": "e-1", "status": "unavailable", "error": "_MSG_TIMED_OUT",
        "retry": True,
    }  # fmt: skip
    assert events[3]["status"] == "unavailable" and events[3]["dead_letter_stored"] is False
    assert events[4]["error"] == "timed_out"
