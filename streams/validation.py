"""Decide whether one raw message is a touchpoint, and if not, exactly why.

The happy path is a single pydantic ``validate_json`` call. Only a message that fails it is
taken apart step by step to name the failure (not UTF-8, not JSON, unknown event type, ...),
so diagnosing bad input costs nothing on good input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from pydantic import ValidationError

from schemas import (
    EVENT_TYPES,
    SUPPORTED_SCHEMA_VERSIONS,
    TOUCHPOINT_ADAPTER,
    DeadLetter,
    FailureType,
    Touchpoint,
)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A message as consumed: its bytes and where it came from."""

    value: bytes | None
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    max_bytes: int = 64 * 1024
    max_clock_skew: timedelta = timedelta(minutes=5)
    """How far in the future an event time may be before it is implausible."""


@dataclass(frozen=True, slots=True)
class Rejection:
    failure_type: FailureType
    detail: str
    field_path: str | None = None


def validate_record(
    record: SourceRecord, *, now: datetime, policy: ValidationPolicy
) -> Touchpoint | DeadLetter:
    """The validated touchpoint, or a dead letter that says why it is not one."""
    raw = record.value or b""
    rejection: Rejection | None
    if len(raw) > policy.max_bytes:
        rejection = Rejection(FailureType.OVERSIZE, f"{len(raw)} bytes > {policy.max_bytes}")
    else:
        try:
            event = TOUCHPOINT_ADAPTER.validate_json(raw)
        except ValidationError as error:
            rejection = diagnose(raw, error)
        else:
            rejection = _check_event_time(event.occurred_at, now, policy)
            if rejection is None:
                return event
    return DeadLetter(
        failure_type=rejection.failure_type,
        detail=rejection.detail,
        field_path=rejection.field_path,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        original=raw,
        received_at=now,
    )


def processing_error(record: SourceRecord, error: Exception, *, now: datetime) -> DeadLetter:
    """The dead letter of a record that made the worker fail: kept, never lost or retried."""
    return DeadLetter(
        failure_type=FailureType.PROCESSING_ERROR,
        detail=f"{type(error).__name__}: {error}"[:2000],
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        original=record.value or b"",
        received_at=now,
    )


def _check_event_time(
    occurred_at: datetime, now: datetime, policy: ValidationPolicy
) -> Rejection | None:
    if occurred_at - now > policy.max_clock_skew:
        return Rejection(
            FailureType.FUTURE_EVENT_TIME,
            f"occurred_at {occurred_at.isoformat()} is more than "
            f"{policy.max_clock_skew} after the processing time {now.isoformat()}",
            "occurred_at",
        )
    return None


def diagnose(raw: bytes, error: ValidationError) -> Rejection:
    """Name the first thing wrong with a message that failed validation."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(FailureType.NOT_UTF8, str(exc))
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejection(FailureType.NOT_JSON, str(exc))
    if not isinstance(document, dict):
        return Rejection(
            FailureType.NOT_JSON, f"expected a JSON object, got {type(document).__name__}"
        )
    event_type = document.get("event_type")
    if event_type not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        return Rejection(
            FailureType.UNKNOWN_EVENT_TYPE,
            f"event_type {event_type!r} is not one of: {known}",
            "event_type",
        )
    version = document.get("schema_version", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        return Rejection(
            FailureType.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version {version!r} is not supported "
            f"(supported: {sorted(SUPPORTED_SCHEMA_VERSIONS)})",
            "schema_version",
        )
    first = error.errors(include_url=False)[0]
    # Drop the union tag pydantic puts first (the event type) from the path.
    location = [str(part) for part in first["loc"]]
    if location and location[0] == event_type:
        location = location[1:]
    return Rejection(
        FailureType.SCHEMA_VIOLATION,
        f"{first['msg']} ({error.error_count()} error(s))",
        ".".join(location) or None,
    )
