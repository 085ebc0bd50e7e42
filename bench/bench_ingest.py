"""HTTP ingest against the SDK: the same events, published both ways in the same run.

The SDK baseline publishes every event with ``TouchpointPublisher.publish`` and flushes. The
HTTP run posts the same events as NDJSON batches over keep-alive connections to a ``kam
ingest`` process, each request answered only once the broker acknowledged its batch; its rate
counts from the first request to the last answer and checks that every event was accepted
and is on the topic. Target: at least half the SDK's rate.
"""

from __future__ import annotations

import http.client
import threading
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import orjson

from bench.common import BenchError, Result, TopicSize, new_pipeline, running, wait_until
from kam.localkafka import free_port
from kam.processes import ServiceProcess
from producers import SimulationConfig, TouchpointPublisher, simulate_messages
from producers.ingest import client, new_token, token_hash

SOURCE = "bench"
CONNECTIONS = 4


def _events(count: int) -> list[bytes]:
    """Valid touchpoints of one source system, as the JSON lines both runs send."""
    config = SimulationConfig(seed=3, start=datetime(2026, 1, 1, tzinfo=UTC), bad_probability=0.1)
    lines = []
    for message in islice(simulate_messages(config), count):
        document = orjson.loads(message.value)
        document["source_system"] = SOURCE
        lines.append(orjson.dumps(document))
    return lines


def _sdk_rate(bootstrap: str, workdir: Path, events: list[bytes]) -> float:
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label="ingest-sdk")
    with TouchpointPublisher(kafka=pipeline.kafka, topics=pipeline.topics) as publisher:
        for value in events[:500]:  # metadata, producer id, segments: not measured
            publisher.publish(value)
        publisher.flush(60)
        began = time.perf_counter()
        for value in events:
            publisher.publish(value)
        if publisher.flush(120):
            raise BenchError("the SDK baseline lost events")
        return len(events) / (time.perf_counter() - began)


def _post_batches(port: int, token: str, batches: list[bytes], failures: list[str]) -> None:
    """One keep-alive connection posting its batches one after the other."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    try:
        for body in batches:
            connection.request("POST", "/v1/touchpoints", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                failures.append(f"{response.status}: {answer[:300]!r}")
                return
    except OSError as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def _http_rate(bootstrap: str, workdir: Path, events: list[bytes], batch: int) -> float:
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label="ingest-http")
    token, port = new_token(), free_port()
    process = ServiceProcess(
        command=["ingest"],
        env={
            **pipeline.env,
            "KAM_INGEST_PORT": str(port),
            "KAM_INGEST_TOKENS": f"{SOURCE} {token_hash(token)}",
            "KAM_INGEST_MAX_EVENTS": str(batch),
            "KAM_INGEST_RATE_PER_SECOND": "100000",
            "KAM_INGEST_RATE_BURST": "100000",
        },
        log_path=pipeline.workdir / "logs" / "ingest.log",
        name="ingest",
        metrics_port=free_port(),
    )
    bodies = [b"\n".join(events[i : i + batch]) for i in range(0, len(events), batch)]
    size = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.touchpoints)
    try:
        with running(process):
            wait_until(
                lambda: client.healthy(f"http://127.0.0.1:{port}"),
                timeout=60, what="kam ingest to serve", alive=[process],
            )  # fmt: skip
            failures: list[str] = []
            _post_batches(port, token, [b"\n".join(events[:batch])], failures)  # warm-up
            threads = [
                threading.Thread(
                    target=_post_batches, args=(port, token, bodies[i::CONNECTIONS], failures)
                )
                for i in range(CONNECTIONS)
            ]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
            elapsed = time.perf_counter() - began
            if failures or any(thread.is_alive() for thread in threads):
                raise BenchError(f"HTTP ingest refused a batch: {failures[:3]}")
            stored = size.records()
            if stored != len(events) + batch:
                raise BenchError(f"{stored} records on the topic, not {len(events) + batch}")
    finally:
        size.close()
    return len(events) / elapsed


def run(*, bootstrap: str, workdir: Path, events: int, batch: int = 500) -> list[Result]:
    lines = _events(events)
    sdk = _sdk_rate(bootstrap, workdir, lines)
    http_rate = _http_rate(bootstrap, workdir, lines, batch)
    print(f"ingest: SDK {sdk:,.0f}/s, HTTP {http_rate:,.0f}/s", flush=True)
    return [
        Result(
            metric=f"ingest: events/s through HTTP (NDJSON batches of {batch}, {CONNECTIONS} "
            "keep-alive connections) vs the SDK publishing the same events",
            measured=http_rate, unit="events/s", baseline=sdk, target=0.5,
        )
    ]  # fmt: skip
