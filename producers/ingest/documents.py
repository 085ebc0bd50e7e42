"""A request body as events: split by content type, each validated with the SDK's own code.

Pure functions, no I/O. A body is one JSON object, a JSON array of objects, or NDJSON (one
object per line). Each event is checked by :func:`producers.validation.to_touchpoint`, the
function the SDK publishes through, so a request's event is accepted or rejected exactly as
``TouchpointPublisher.publish`` would accept or reject it, with the dead letter's failure type
and field path. Two checks are the endpoint's own: an event larger than the worker's limit is
``oversize`` (the worker would dead-letter it), and the bearer token decides the
``source_system`` (omitted: the token's; another one: a ``schema_violation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from producers.exceptions import InvalidTouchpointError
from producers.ingest.exceptions import RequestRefusedError
from producers.validation import to_touchpoint
from schemas import FailureType, Touchpoint
from schemas.validation import FieldIssue, Rejection, not_utf8

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)


@dataclass(frozen=True, slots=True)
class Valid:
    index: int
    event: Touchpoint


@dataclass(frozen=True, slots=True)
class Invalid:
    index: int
    rejection: Rejection
    raw: bytes
    """The event's bytes as received (a line, the body, or the array element re-encoded)."""
    event_id: str | None = None
    """The document's ``event_id`` when it has one (so the sender can tell its events apart)."""


Verdict = Valid | Invalid


def split_body(content_type: str | None, body: bytes, *, max_events: int) -> list[bytes | Any]:
    """The request's events: raw bytes (a body or a line) or a decoded array element.

    Raises :class:`RequestRefusedError` for a body that holds no list of events at all.
    """
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if media not in JSON_TYPES | NDJSON_TYPES or charset not in ("utf-8", "utf8"):
        raise RequestRefusedError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type or '(none)'!r} is not application/json or "
            "application/x-ndjson in UTF-8",
        )
    if not body.strip():
        raise RequestRefusedError(400, "empty_body", "the body holds no event")
    documents: list[bytes | Any]
    if media in NDJSON_TYPES:
        documents = [line for line in body.split(b"\n") if line.strip()]
    elif body.lstrip()[:1] == b"[":
        documents = _array(body)
    else:
        documents = [body]
    if len(documents) > max_events:
        raise RequestRefusedError(
            413, "too_many_events", f"{len(documents)} events > {max_events} per request"
        )
    return documents


def _array(body: bytes) -> list[Any]:
    if rejection := not_utf8(body):
        raise RequestRefusedError(400, FailureType.NOT_UTF8.value, rejection.detail)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        message = f"not a JSON array: {exc}"
        raise RequestRefusedError(400, FailureType.NOT_JSON.value, message) from None
    if not isinstance(decoded, list):  # "[" then something else cannot decode, but be sure
        raise RequestRefusedError(400, FailureType.NOT_JSON.value, "not a JSON array")
    return decoded


def check(
    document: bytes | Any, *, index: int, source_system: str, max_event_bytes: int
) -> Verdict:
    """The verdict on one event of a request whose token names ``source_system``."""
    raw = document if isinstance(document, bytes) else orjson.dumps(document)
    if len(raw) > max_event_bytes:
        issue = FieldIssue("", f"{len(raw)} bytes > {max_event_bytes}")
        return Invalid(index, Rejection(FailureType.OVERSIZE, (issue,)), raw)
    decoded = document if not isinstance(document, bytes) else _object_or_none(document)
    given = decoded.get("event_id") if isinstance(decoded, dict) else None
    event_id = given if isinstance(given, str) else None
    try:
        if isinstance(decoded, dict):
            claimed = decoded.setdefault("source_system", source_system)
            event = to_touchpoint(decoded)
        else:  # not an object, or not decodable: the SDK says why, from the bytes
            event = to_touchpoint(raw)
            claimed = event.source_system
    except InvalidTouchpointError as exc:
        return Invalid(index, Rejection(exc.failure_type, exc.issues), raw, event_id)
    if claimed != source_system:
        issue = FieldIssue(
            "source_system", f"is {claimed!r}, but the token is the one of {source_system!r}"
        )
        return Invalid(index, Rejection(FailureType.SCHEMA_VIOLATION, (issue,)), raw, event_id)
    return Valid(index, event)


def _object_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
