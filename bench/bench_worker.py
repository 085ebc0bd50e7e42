"""One worker's full path (validate, enrich, KPIs, alerts) vs a raw confluent-kafka consumer.

N simulated touchpoints (fixed seed, every contact point, 5% bad experiences, event times in
the last hours so KPIs and alerts are live) go to a fresh topic after the worker has applied the
accounts. Worker rate: events between the first and last change of
``kam_worker_events_consumed_total`` (polled every 50 ms) over that time; full-path rate: the same
start until the enriched topic holds all N records. Baseline: a group-less confluent-kafka
consumer reading the same N records in batches of 1000, timed from its first batch to its last.

    .venv/bin/python -m bench.bench_worker [--events 50000] [--accounts 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from bench.common import (
    BenchError,
    Pipeline,
    Result,
    TopicSize,
    assigned_consumer,
    check_alive,
    format_table,
    kafka_producer,
    load_accounts,
    new_pipeline,
    produce_all,
    running,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts

SEED = 20260301
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class WorkerRun:
    consumed_rate: float
    enriched_rate: float
    seconds: float
    batch_seconds: float
    """Time spent inside batches (``kam_worker_batch_seconds_sum``): the core plus sending."""
    batches: int


def simulation(events: int, accounts: int) -> SimulationConfig:
    """Events one second apart on average, ending ten minutes ago."""
    start = datetime.now(UTC) - timedelta(seconds=events + 600)
    return SimulationConfig(seed=SEED, accounts=accounts, start=start, bad_probability=0.05)


def observe_worker(
    pipeline: Pipeline, worker: ServiceProcess, events: int, timeout: float
) -> WorkerRun:
    """Poll the consumed counter and the enriched topic until both reach ``events``."""
    enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
    first: tuple[float, float] | None = None
    consumed_at = enriched_at = None
    deadline = time.monotonic() + timeout
    try:
        while consumed_at is None or enriched_at is None:
            if time.monotonic() > deadline:
                raise BenchError(f"worker did not process {events} events in {timeout:.0f}s")
            check_alive(worker)
            now, consumed = time.monotonic(), worker.metric("kam_worker_events_consumed_total")
            if first is None and consumed > 0:
                first = (now, consumed)
            if consumed_at is None and consumed >= events:
                consumed_at = now
            if enriched_at is None and first and enriched.records() >= events:
                enriched_at = time.monotonic()
            time.sleep(POLL_SECONDS)
    finally:
        enriched.close()
    assert first is not None
    started, already = first
    return WorkerRun(
        consumed_rate=(events - already) / max(consumed_at - started, POLL_SECONDS),
        enriched_rate=(events - already) / max(enriched_at - started, POLL_SECONDS),
        seconds=enriched_at - started,
        batch_seconds=worker.metric("kam_worker_batch_seconds_sum"),
        batches=int(worker.metric("kam_worker_batch_seconds_count")),
    )


def publish_and_observe(
    pipeline: Pipeline, worker: ServiceProcess, records: list[tuple[bytes, bytes]], timeout: float
) -> WorkerRun:
    """Publish ``records`` to the touchpoints topic while :func:`observe_worker` watches."""
    producer = kafka_producer(pipeline.kafka, **{"linger.ms": 20})
    publish = threading.Thread(
        target=produce_all, args=(producer, pipeline.topics.touchpoints, records)
    )
    publish.start()
    try:
        return observe_worker(pipeline, worker, len(records), timeout)
    finally:
        publish.join()


def raw_consume_rate(pipeline: Pipeline, events: int, timeout: float) -> float:
    """Messages per second of a confluent-kafka consumer reading the touchpoints topic."""
    consumer = assigned_consumer(pipeline.kafka, pipeline.topics.touchpoints)
    received, first = 0, None
    deadline = time.monotonic() + timeout
    try:
        while received < events:
            if time.monotonic() > deadline:
                raise BenchError(f"raw consumer read {received} of {events} records")
            batch = consumer.consume(1000, timeout=1.0)
            if first is None and batch:
                first = (time.perf_counter(), len(batch))
            errors = [m.error() for m in batch if m.error() is not None]
            if errors:
                raise BenchError(f"raw consumer error: {errors[0]}")
            received += len(batch)
        finished = time.perf_counter()
    finally:
        consumer.close()
    assert first is not None
    return (events - first[1]) / (finished - first[0])


def run(
    *, bootstrap: str, workdir: Path, events: int = 50_000, accounts: int = 2_000
) -> list[Result]:
    """Publish, let one worker process everything, then read the same records raw."""
    config = simulation(events, accounts)
    account_records = [
        (a.account_id.encode(), a.model_dump_json().encode()) for a in simulated_accounts(config)
    ]
    touchpoints = [(m.key.encode(), m.value) for m in islice(simulate_messages(config), events)]
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label="worker")
    timeout = 120 + events / 200
    with running(pipeline.worker()) as worker:
        load_accounts(pipeline, worker, account_records)
        worker_run = publish_and_observe(pipeline, worker, touchpoints, timeout)
    raw = raw_consume_rate(pipeline, events, timeout)
    print(
        f"worker: {events} events in {worker_run.seconds:.1f}s; "
        f"consumed {worker_run.consumed_rate:,.0f}/s, enriched {worker_run.enriched_rate:,.0f}/s; "
        f"raw consumer {raw:,.0f}/s; {worker_run.batches} batches took "
        f"{worker_run.batch_seconds:.1f}s (validate, enrich, KPIs, alerts, send)",
        flush=True,
    )
    return [
        Result(
            metric="worker consumed (events/s)", measured=worker_run.consumed_rate,
            unit="/s", baseline=raw, target=0.5,
        ),
        Result(
            metric="worker full path to enriched topic (events/s)",
            measured=worker_run.enriched_rate, unit="/s", baseline=raw, target=0.5,
        ),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    args = parser.parse_args()
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results = run(
            bootstrap=bootstrap, workdir=Path(tmp), events=args.events, accounts=args.accounts
        )
    print(format_table(results))


if __name__ == "__main__":
    main()
