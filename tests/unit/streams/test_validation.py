"""Every way a message can fail validation is named, with the field at fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas import DeadLetter, FailureType
from schemas.touchpoints import CsatSubmitted
from streams.validation import SourceRecord, ValidationPolicy, validate_record

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = ValidationPolicy(max_bytes=2048, max_clock_skew=timedelta(minutes=5))

CSAT = {
    "event_id": "e-1",
    "account_id": "acme",
    "event_type": "csat_submitted",
    "occurred_at": "2026-03-01T11:00:00Z",
    "source_system": "zendesk",
    "payload": {"score": 2},
}


def _validate(value: bytes) -> object:
    record = SourceRecord(value=value, topic="kam.touchpoints", partition=3, offset=42)
    return validate_record(record, now=NOW, policy=POLICY)


def _with(**changes: object) -> bytes:
    return orjson.dumps({**CSAT, **changes})


def test_valid_event_is_returned_as_its_model() -> None:
    event = _validate(orjson.dumps(CSAT))
    assert isinstance(event, CsatSubmitted)
    assert event.payload.score == 2
    assert event.contact_point == "support"


@pytest.mark.parametrize(
    ("raw", "failure_type", "field_path"),
    [
        (b"\xff\xfe{", FailureType.NOT_UTF8, None),
        (b"{not json", FailureType.NOT_JSON, None),
        (b"[1, 2]", FailureType.NOT_JSON, None),
        (b"", FailureType.NOT_JSON, None),
        (_with(event_type="parcel_lost"), FailureType.UNKNOWN_EVENT_TYPE, "event_type"),
        (_with(schema_version=7), FailureType.UNSUPPORTED_SCHEMA_VERSION, "schema_version"),
        (_with(payload={"score": 9}), FailureType.SCHEMA_VIOLATION, "payload.score"),
        (_with(account_id=""), FailureType.SCHEMA_VIOLATION, "account_id"),
        (_with(occurred_at="2026-03-01T11:00:00"), FailureType.SCHEMA_VIOLATION, "occurred_at"),
        (_with(contact_point="billing"), FailureType.SCHEMA_VIOLATION, "contact_point"),
        (_with(occurred_at="2026-03-01T12:06:00Z"), FailureType.FUTURE_EVENT_TIME, "occurred_at"),
        (_with(source_system="x" * 3000), FailureType.OVERSIZE, None),
    ],
)
def test_each_failure_is_typed(
    raw: bytes, failure_type: FailureType, field_path: str | None
) -> None:
    letter = _validate(raw)
    assert isinstance(letter, DeadLetter)
    assert letter.failure_type == failure_type
    assert letter.field_path == field_path
    assert letter.original == raw
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "kam.touchpoints",
        3,
        42,
    )
    assert letter.detail


def test_event_just_inside_the_clock_skew_is_accepted() -> None:
    assert isinstance(_validate(_with(occurred_at="2026-03-01T12:05:00Z")), CsatSubmitted)


def test_missing_value_is_a_dead_letter_not_a_crash() -> None:
    record = SourceRecord(value=None, topic="t", partition=0, offset=0)
    letter = validate_record(record, now=NOW, policy=POLICY)
    assert isinstance(letter, DeadLetter)
    assert letter.failure_type == FailureType.NOT_JSON
