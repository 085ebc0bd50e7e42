"""The broker stopped while a request is on its way: 503 with Retry-After, nothing half-stored.

The module runs its own broker so that stopping it disturbs no other test.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kam.localkafka import local_kafka, restart_local_kafka, stop_local_kafka
from schemas import parse_touchpoint
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for
from tests.integration.ingest import read_response, start_ingest
from tests.integration.test_ingest import csat


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Where this module's broker runs (``None``: ``KAFKA_BOOTSTRAP_SERVERS`` is used)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return None
    return tmp_path_factory.mktemp("broker")


@pytest.fixture(scope="module")
def kafka_bootstrap(broker_dir: Path | None) -> Iterator[str]:
    """This module's own broker (overrides the suite's), so it can be stopped mid-request."""
    with local_kafka(directory=broker_dir) as bootstrap:
        yield bootstrap


def test_broker_stopped_mid_request_is_503_and_a_retry_stores_each_event_once(
    pipeline: Pipeline, broker_dir: Path | None
) -> None:
    if broker_dir is None:
        pytest.skip(reason="stops the broker: needs the module's own, not KAFKA_BOOTSTRAP_SERVERS")
    ingest = start_ingest(pipeline, env={"KAM_INGEST_BODY_TIMEOUT_SECONDS": "60"})
    assert ingest.post([csat("before")]).status == 200  # connected, producer id acquired
    events = [csat(f"out-{i}", account_id=f"acct-{i}") for i in range(20)]
    body = json.dumps(events).encode()
    head = (
        f"POST /v1/touchpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {ingest.tokens['crm']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with ingest.raw_connection() as sock:
        sock.sendall(head + body[: len(body) // 2])
        stop_local_kafka(broker_dir)
        sock.sendall(body[len(body) // 2 :])
        status, headers, answer = read_response(sock, timeout=60)
    assert status == 503, answer
    assert b"retry-after: 5" in headers.lower()
    decoded = json.loads(answer)
    assert (decoded["accepted"], decoded["unavailable"]) == (0, 20)
    assert {e["status"] for e in decoded["events"]} == {"unavailable"}
    assert ingest.request("GET", "/readyz").status == 503
    assert ingest.process.running()

    restart_local_kafka(broker_dir)
    wait_for(
        lambda: ingest.request("GET", "/readyz").status == 200,
        timeout=60, what="readiness after the broker's restart", alive=[ingest.process],
    )  # fmt: skip
    retried = wait_for(
        lambda: (answer := ingest.post(events)).status == 200 and answer,
        timeout=60, what="the retried request to be accepted", alive=[ingest.process],
    )  # fmt: skip
    assert retried.body["accepted"] == 20
    records = pipeline.read_all(pipeline.topics.touchpoints)
    stored = [parse_touchpoint(raw).event_id for raw in records]
    assert sorted(stored) == sorted(["before", *(f"out-{i}" for i in range(20))])


def test_requests_across_an_outage_never_answer_2xx_for_an_event_not_stored(
    pipeline: Pipeline, broker_dir: Path | None
) -> None:
    if broker_dir is None:
        pytest.skip(reason="stops the broker: needs the module's own, not KAFKA_BOOTSTRAP_SERVERS")
    ingest = start_ingest(pipeline)
    answers: list[tuple[int, list[dict[str, Any]]]] = []
    done = threading.Event()

    def send() -> None:  # one request after the other, 20 events each, until told to stop
        for request in range(300):
            if done.is_set():
                return
            batch = [csat(f"r{request}-{i}", account_id=f"acct-{i}") for i in range(20)]
            answer = ingest.post(batch)
            answers.append((answer.status, answer.body.get("events", [])))

    def statuses() -> list[int]:
        return [status for status, _ in list(answers)]

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_for(lambda: statuses().count(200) >= 3, timeout=60, what="three stored requests")
        stop_local_kafka(broker_dir)
        wait_for(lambda: statuses().count(503) >= 2, timeout=60, what="two 503 answers")
        restart_local_kafka(broker_dir)
        after = len(answers)
        wait_for(
            lambda: 200 in statuses()[after:], timeout=90, what="a stored request after the restart"
        )
    finally:
        done.set()
        sender.join(timeout=120)
    assert set(statuses()) <= {200, 503}
    stored = {
        parse_touchpoint(raw).event_id for raw in pipeline.read_all(pipeline.topics.touchpoints)
    }
    accepted = {e["event_id"] for _, events in answers for e in events if e["status"] == "accepted"}
    assert accepted <= stored  # accepted means stored, whatever the broker did meanwhile
    for status, events in answers:
        if status == 200:
            assert {e["status"] for e in events} == {"accepted"}
