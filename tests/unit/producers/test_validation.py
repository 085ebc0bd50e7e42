"""Producer-edge validation: every rejection has a dead-letter failure type and field paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from producers import FieldIssue, InvalidTouchpointError, to_touchpoint
from schemas import FailureType, parse_touchpoint


def nps(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "event_id": "e-1",
        "account_id": "acct-1",
        "occurred_at": "2026-03-02T10:00:00Z",
        "source_system": "survey",
        "event_type": "nps_submitted",
        "payload": {"score": 3},
    }
    return {**document, **overrides}


def rejected(document: Any) -> InvalidTouchpointError:
    with pytest.raises(InvalidTouchpointError) as info:
        to_touchpoint(document)
    return info.value


def test_model_dict_str_and_bytes_give_the_same_event() -> None:
    model = parse_touchpoint(json.dumps(nps()))
    assert to_touchpoint(model) is model
    assert to_touchpoint(nps()) == model
    assert to_touchpoint(json.dumps(nps())) == model
    assert to_touchpoint(json.dumps(nps()).encode()) == model


def test_schema_violation_lists_every_field_without_the_tag() -> None:
    error = rejected(nps(account_id="", payload={"score": 11, "comment": "x"}))
    assert error.failure_type is FailureType.SCHEMA_VIOLATION
    assert error.issues == (
        FieldIssue("account_id", "String should have at least 1 character"),
        FieldIssue("payload.score", "Input should be less than or equal to 10"),
        FieldIssue("payload.comment", "Extra inputs are not permitted"),
    )
    assert str(error) == (
        "schema_violation: account_id: String should have at least 1 character; "
        "payload.score: Input should be less than or equal to 10; "
        "payload.comment: Extra inputs are not permitted"
    )


@pytest.mark.parametrize(
    ("document", "failure_type", "issue"),
    [
        (
            "{nope",
            FailureType.NOT_JSON,
            FieldIssue("", "Invalid JSON: key must be a string at line 1 column 2"),
        ),
        (
            b"\xff{}",
            FailureType.NOT_UTF8,
            FieldIssue("", "not UTF-8: invalid start byte at byte 0"),
        ),
        (
            nps(event_type="fax_received"),
            FailureType.UNKNOWN_EVENT_TYPE,
            FieldIssue("event_type", 'unknown event type "fax_received" (not in the catalogue)'),
        ),
        (
            {"account_id": "acct-1"},
            FailureType.SCHEMA_VIOLATION,
            FieldIssue("event_type", "missing"),
        ),
        ("[1]", FailureType.NOT_JSON, FieldIssue("", "expected a JSON object")),
        (
            nps(schema_version=2),
            FailureType.UNSUPPORTED_SCHEMA_VERSION,
            FieldIssue("schema_version", "Input should be 1"),
        ),
        (
            nps(occurred_at="2026-03-02T10:00:00"),
            FailureType.SCHEMA_VIOLATION,
            FieldIssue(
                "occurred_at",
                "Input should be an RFC 3339 date-time with an offset, years 1900-2999 "
                "(2026-01-01T09:00:00Z)",
            ),
        ),
    ],
)
def test_failure_types_match_the_dead_letter_ones(
    document: Any, failure_type: FailureType, issue: FieldIssue
) -> None:
    error = rejected(document)
    assert (error.failure_type, error.issues) == (failure_type, (issue,))
