"""Decide whether one raw message is a touchpoint, and if not, exactly why.

The happy path is a single pydantic ``validate_json`` call; only a message that fails it is
classified (:mod:`schemas.validation`, shared with the producer SDK), so naming the failure
costs nothing on good input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from schemas import TOUCHPOINT_ADAPTER, DeadLetter, FailureType, Touchpoint
from schemas.validation import FieldIssue, Rejection, classify, not_utf8


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


def validate_record(
    record: SourceRecord, *, now: datetime, policy: ValidationPolicy
) -> Touchpoint | DeadLetter:
    """The validated touchpoint, or a dead letter that says why it is not one."""
    raw = record.value or b""
    rejection: Rejection | None
    if len(raw) > policy.max_bytes:
        issue = FieldIssue("", f"{len(raw)} bytes > {policy.max_bytes}")
        rejection = Rejection(FailureType.OVERSIZE, (issue,))
    else:
        try:
            event = TOUCHPOINT_ADAPTER.validate_json(raw)
        except ValidationError as error:
            rejection = not_utf8(raw) or classify(error)
        else:
            rejection = _check_event_time(event.occurred_at, now, policy)
            if rejection is None:
                return event
    return DeadLetter.keeping(
        raw,
        failure_type=rejection.failure_type,
        detail=rejection.detail,
        field_path=rejection.field_path,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        received_at=now,
    )


def processing_error(record: SourceRecord, error: Exception, *, now: datetime) -> DeadLetter:
    """The dead letter of a record that made the worker fail: kept, never lost or retried."""
    return DeadLetter.keeping(
        record.value or b"",
        failure_type=FailureType.PROCESSING_ERROR,
        detail=f"{type(error).__name__}: {error}"[:2000],
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        received_at=now,
    )


def _check_event_time(
    occurred_at: datetime, now: datetime, policy: ValidationPolicy
) -> Rejection | None:
    if occurred_at - now > policy.max_clock_skew:
        message = (
            f"{occurred_at.isoformat()} is more than {policy.max_clock_skew} after the "
            f"processing time {now.isoformat()}"
        )
        return Rejection(FailureType.FUTURE_EVENT_TIME, (FieldIssue("occurred_at", message),))
    return None
