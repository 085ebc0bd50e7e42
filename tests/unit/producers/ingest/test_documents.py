"""Request bodies as events: content types, splitting, and the SDK's verdict on every event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from producers import InvalidTouchpointError, to_touchpoint
from producers.ingest import Invalid, RequestRefusedError, Valid, check, split_body
from schemas import FailureType
from tests.unit.schemas.hostile import HOSTILE

V1_DOCUMENTS = Path(__file__).parents[2] / "schemas" / "v1_documents.jsonl"
JSON = "application/json"
NDJSON = "application/x-ndjson"


def csat(event_id: str = "e-1", **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "account_id": "acme",
        "occurred_at": "2026-03-02T10:00:00Z",
        "source_system": "zendesk",
        "event_type": "csat_submitted",
        "payload": {"score": 2},
        **overrides,
    }


def verdicts(content_type: str, body: bytes, source: str = "zendesk") -> list[Valid | Invalid]:
    documents = split_body(content_type, body, max_events=10)
    return [
        check(d, index=i, source_system=source, max_event_bytes=64 * 1024)
        for i, d in enumerate(documents)
    ]


def refused(content_type: str | None, body: bytes, max_events: int = 10) -> RequestRefusedError:
    with pytest.raises(RequestRefusedError) as info:
        split_body(content_type, body, max_events=max_events)
    return info.value


def test_one_event_an_array_and_ndjson_give_the_same_events() -> None:
    events = [csat("e-1"), csat("e-2")]
    one = verdicts(JSON, json.dumps(events[0]).encode())
    array = verdicts("application/json; charset=utf-8", json.dumps(events).encode())
    lines = verdicts(NDJSON, b"\r\n".join(json.dumps(e).encode() for e in events) + b"\n\n")
    expected = [to_touchpoint(e) for e in events]
    assert [v.event for v in one if isinstance(v, Valid)] == expected[:1]
    assert [v.event for v in array if isinstance(v, Valid)] == expected
    assert [v.event for v in lines if isinstance(v, Valid)] == expected
    assert [v.index for v in lines] == [0, 1]


def _sdk_verdict(raw: bytes) -> tuple[FailureType, tuple[object, ...]] | None:
    try:
        to_touchpoint(raw)
    except InvalidTouchpointError as exc:
        return exc.failure_type, exc.issues
    return None


def _ingest_verdict(raw: bytes, source: str) -> tuple[FailureType, tuple[object, ...]] | None:
    verdict = check(raw, index=0, source_system=source, max_event_bytes=64 * 1024)
    if isinstance(verdict, Valid):
        assert verdict.event == to_touchpoint(raw)
        return None
    assert verdict.raw == raw
    return verdict.rejection.failure_type, verdict.rejection.issues


@pytest.mark.parametrize(("name", "raw", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_documents_get_the_sdks_rejection(
    name: str, raw: bytes, expected: tuple[FailureType, str, str]
) -> None:
    verdict = _ingest_verdict(raw, "plain-client")
    assert verdict == _sdk_verdict(raw)
    assert verdict is not None and verdict[0] == expected[0]


def test_every_frozen_v1_document_is_accepted_as_by_the_sdk() -> None:
    lines = V1_DOCUMENTS.read_bytes().splitlines()
    assert lines
    for line in lines:
        source = orjson.loads(line)["source_system"]
        assert _ingest_verdict(line, source) is None


@pytest.mark.parametrize(
    ("raw", "failure_type"),
    [
        (b"{not json", FailureType.NOT_JSON),
        (b'"a string"', FailureType.NOT_JSON),
        (b'{"event_id": "\xff"}', FailureType.NOT_UTF8),
        (json.dumps(csat(event_type="telepathy")).encode(), FailureType.UNKNOWN_EVENT_TYPE),
        (json.dumps(csat(schema_version=2)).encode(), FailureType.UNSUPPORTED_SCHEMA_VERSION),
        (b"[" * 5000 + b"]" * 5000, FailureType.NOT_JSON),  # too deep for any parser here
    ],
)
def test_undecodable_events_are_classified_as_by_the_sdk(
    raw: bytes, failure_type: FailureType
) -> None:
    assert _ingest_verdict(raw, "zendesk") == _sdk_verdict(raw)
    assert _sdk_verdict(raw) is not None and _sdk_verdict(raw)[0] == failure_type  # type: ignore[index]


def test_the_token_decides_the_source_system() -> None:
    omitted = {k: v for k, v in csat().items() if k != "source_system"}
    [taken] = verdicts(JSON, json.dumps(omitted).encode(), source="helpdesk")
    assert isinstance(taken, Valid) and taken.event.source_system == "helpdesk"
    [other] = verdicts(JSON, json.dumps(csat()).encode(), source="helpdesk")
    assert isinstance(other, Invalid)
    assert other.rejection.failure_type is FailureType.SCHEMA_VIOLATION
    assert other.rejection.field_path == "source_system"
    assert other.event_id == "e-1"  # named in the answer, so the sender can tell which


def test_an_event_over_the_workers_limit_is_oversize() -> None:
    big = json.dumps(csat(trace_id="t")).encode().replace(b'"t"', b'"' + b"x" * 70_000 + b'"')
    verdict = check(big, index=3, source_system="zendesk", max_event_bytes=64 * 1024)
    assert isinstance(verdict, Invalid) and verdict.index == 3
    assert verdict.rejection.failure_type is FailureType.OVERSIZE


def test_an_array_element_that_is_no_object_is_rejected_alone() -> None:
    found = verdicts(JSON, json.dumps([csat(), 5, [csat()]]).encode())
    assert [type(v) for v in found] == [Valid, Invalid, Invalid]
    assert {v.rejection.failure_type for v in found if isinstance(v, Invalid)} == {
        FailureType.NOT_JSON
    }
    assert next(v.raw for v in found if isinstance(v, Invalid)) == b"5"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b"{}", 415, "unsupported_media_type"),
        (None, b"{}", 415, "unsupported_media_type"),
        ("application/json; charset=latin-1", b"{}", 415, "unsupported_media_type"),
        (JSON, b"  \n", 400, "empty_body"),
        (NDJSON, b"\n\n", 400, "empty_body"),
        (JSON, b"[{}, ", 400, "not_json"),
        (JSON, b'[{"a": "\xff"}]', 400, "not_utf8"),
        (JSON, b"[" * 2000 + b"]" * 2000, 400, "not_json"),
        (JSON, json.dumps([csat()] * 11).encode(), 413, "too_many_events"),
        (NDJSON, b"{}\n" * 11, 413, "too_many_events"),
    ],
)
def test_bodies_that_hold_no_list_of_events_are_refused(
    content_type: str | None, body: bytes, status: int, code: str
) -> None:
    refusal = refused(content_type, body)
    assert (refusal.status, refusal.code) == (status, code)
