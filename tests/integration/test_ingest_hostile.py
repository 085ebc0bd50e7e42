"""Hostile bodies against ``kam ingest``: each a clear 4xx, and the service stays up."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

import pytest

from schemas import DeadLetter
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for
from tests.integration.ingest import IngestService, read_answer, start_ingest
from tests.integration.test_ingest import csat

MAX_BODY = 64 * 1024
LIMITS = {
    "KAM_INGEST_MAX_BODY_BYTES": str(MAX_BODY),
    "KAM_INGEST_MAX_EVENTS": "10",
    "KAM_INGEST_BODY_TIMEOUT_SECONDS": "1",
    "KAM_INGEST_IDLE_TIMEOUT_SECONDS": "2",
    "KAM_INGEST_RATE_PER_SECOND": "1000",
    "KAM_INGEST_RATE_BURST": "1000",
}


def _head(ingest: IngestService, length: str = "", extra: str = "") -> bytes:
    return (
        "POST /v1/touchpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {ingest.tokens['crm']}\r\nContent-Type: application/json\r\n"
        f"{length}{extra}\r\n"
    ).encode()


def declared_huge(ingest: IngestService) -> tuple[int, str]:
    """A Content-Length of 1 GB: refused before a byte of it is read."""
    with ingest.raw_connection() as sock:
        sock.sendall(_head(ingest, "Content-Length: 1000000000\r\n"))
        status, body = read_answer(sock)
    return status, json.loads(body)["error"]


def chunked_huge(ingest: IngestService) -> tuple[int, str]:
    """No Content-Length, chunks past the limit: refused once the limit is crossed."""
    chunk = b"x" * 16_384
    with ingest.raw_connection() as sock:
        sock.sendall(_head(ingest, "Transfer-Encoding: chunked\r\n"))
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(64):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, body = read_answer(sock)
    return status, json.loads(body)["error"]


def slow_body(ingest: IngestService) -> tuple[int, str]:
    """Ten bytes of a thousand, then nothing: the body timeout ends it."""
    started = time.monotonic()
    with ingest.raw_connection() as sock:
        sock.sendall(_head(ingest, "Content-Length: 1000\r\n") + b'[{"event_')
        status, body = read_answer(sock, timeout=15)
    assert time.monotonic() - started < 10
    return status, json.loads(body)["error"]


Send = Callable[[IngestService], tuple[int, str]]


def posted(body: bytes, content_type: str = "application/json") -> Send:
    def send(ingest: IngestService) -> tuple[int, str]:
        answer = ingest.post(body, content_type=content_type)
        events = answer.body.get("events")
        return answer.status, answer.body.get("error") or events[0]["failure_type"]

    return send


def huge_header(ingest: IngestService) -> tuple[int, str]:
    answer = ingest.post([csat("h")], headers={"X-Padding": "p" * 20_000})
    return answer.status, "header_too_large"


DEEP_OBJECT = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
CASES: list[tuple[str, Send, tuple[int, str]]] = [
    ("declared_huge", declared_huge, (413, "body_too_large")),
    ("chunked_huge", chunked_huge, (413, "body_too_large")),
    ("too_many_events", posted(json.dumps([csat(f"m-{i}") for i in range(11)]).encode()),
     (413, "too_many_events")),
    ("deep_array", posted(b"[" * 30_000 + b"]" * 30_000), (400, "not_json")),
    ("deep_object", posted(DEEP_OBJECT[:MAX_BODY - 2] + b"}}"), (422, "not_json")),
    ("not_utf8", posted(b'{"event_id": "\xc3\x28"}'), (422, "not_utf8")),
    ("wrong_content_type", posted(b"a,b\n1,2\n", "text/csv"), (415, "unsupported_media_type")),
    ("form", posted(b"a=1", "application/x-www-form-urlencoded"), (415, "unsupported_media_type")),
    ("latin1", posted(b"{}", "application/json; charset=iso-8859-1"),
     (415, "unsupported_media_type")),
    ("empty", posted(b""), (400, "empty_body")),
    ("slow_body", slow_body, (408, "body_timeout")),
    ("huge_header", huge_header, (431, "header_too_large")),
]  # fmt: skip


def test_hostile_bodies_get_clear_4xx_and_the_service_stays_up(pipeline: Pipeline) -> None:
    ingest = start_ingest(pipeline, env=LIMITS)
    results = {}
    for name, send, _ in CASES:
        results[name] = send(ingest)
        assert ingest.process.running() and ingest.healthy(), f"down after {name}"
    expected = {name: outcome for name, _, outcome in CASES}
    if results["huge_header"][0] == 400:  # aiohttp answers an over-long header line with 400
        expected["huge_header"] = (400, "header_too_large")
    assert results == expected

    with ingest.raw_connection() as sock:  # a head trickling in: closed at the idle timeout
        started = time.monotonic()
        sock.sendall(b"POST /v1/touchpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        closed = False
        while not closed and time.monotonic() - started < 15:
            try:
                sock.sendall(b"a")
            except OSError:  # the server closed it: our next bytes are refused
                closed = True
            time.sleep(0.5)  # the attack's pace, not a wait for the server
        assert closed, "a request head sent byte by byte held the connection for 15 s"
    with ingest.raw_connection() as sock:  # a sender that goes away halfway through its body
        sock.sendall(_head(ingest, "Content-Length: 1000\r\n") + b'[{"event_')
    wait_for(
        lambda: ingest.process.metric("kam_ingest_requests_total") >= len(CASES) + 1,
        timeout=30, what="the abandoned request to be counted", alive=[ingest.process],
    )  # fmt: skip

    after = ingest.post([csat("still-fine")])
    assert (after.status, after.body["accepted"]) == (200, 1)
    assert pipeline.size(pipeline.topics.touchpoints) == 1  # nothing hostile went through
    letters = [
        DeadLetter.model_validate_json(raw)
        for raw in pipeline.read_all(pipeline.topics.deadletter)
    ]
    assert sorted(d.failure_type.value for d in letters) == ["not_json", "not_utf8"]
    errors = 'kam_ingest_requests_total{endpoint="touchpoints",status="500"}'
    assert ingest.process.metric(errors) == 0


@pytest.mark.parametrize("setting", ["KAM_INGEST_TOKENS", "KAM_INGEST_MAX_EVENTS"])
def test_a_bad_configuration_is_one_line_and_exit_2(pipeline: Pipeline, setting: str) -> None:
    value = {"KAM_INGEST_TOKENS": "crm plain-token", "KAM_INGEST_MAX_EVENTS": "0"}[setting]
    process = pipeline.service(["ingest"], name="bad", env={setting: value})
    deadline = time.monotonic() + 60
    while process.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.stop() == 2
    lines = process.log_tail().strip().splitlines()
    assert len(lines) == 1 and setting in lines[0], lines
