"""Event -> alert latency at a fixed input rate (default 5,000 touchpoints/s).

A warmed-up worker receives simulated good touchpoints at ``--rate`` for ``--seconds``; every
``1/--bad-fraction``-th record is instead a current bad experience for a strategic account, each
on its own (account, contact point), so each one raises exactly one new event-level alert (the
alert book paces updates of an existing key, which would hide later events). Latency of a bad
event = LogAppendTime of the first alert record listing its event id (the alerts topic is created
with broker timestamps) minus the CreateTime of its source record, read at delivery.

    .venv/bin/python -m bench.bench_latency [--rate 5000] [--seconds 10] [--bad-fraction 0.02]
        [--workers 1]

With ``--workers N`` the load goes to N workers of one group sharing the 4 partitions (the
longest stall is the largest of any of them).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message

from bench.bench_scaleout import group_of
from bench.common import (
    BenchError,
    Pipeline,
    Result,
    TopicSize,
    assigned_consumer,
    check_alive,
    format_table,
    kafka_producer,
    new_pipeline,
    peak_of,
    produce_all,
    produce_one,
    wait_until,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import SimulatedMessage, SimulationConfig, simulate_messages
from producers.simulator import simulated_accounts as simulate_accounts
from schemas import AccountTier
from streams.metrics import LOOP_LAG_MAX_WINDOW_SECONDS

SEED = 20260302
WARMUP_EVENTS = 2_000
TICKS_PER_SECOND = 100
QUIET_SECONDS = 5.0
P99_TARGET_MS = 250
"""p99 event -> alert at most 250 ms (at every rate measured here; a rate one worker cannot
sustain shows the backlog instead)."""
STALL_TARGET_MS = 100
"""No event-loop stall over 100 ms during the load (``kam_worker_event_loop_lag_max_seconds``)."""
LOOP_LAG_MAX = "kam_worker_event_loop_lag_max_seconds"


@dataclass(frozen=True, slots=True)
class Load:
    """The records to publish and which of them are measured (bad experiences)."""

    accounts: list[tuple[bytes, bytes]]
    warmup: list[tuple[bytes, bytes]]
    records: list[tuple[bytes, bytes, str | None]]
    """(key, value, event id when measured)."""


def _bad_events(config: SimulationConfig, strategic: set[str]) -> Iterator[SimulatedMessage]:
    """Bad experiences of strategic accounts, never two on the same (account, contact point)."""
    used: set[tuple[str, str]] = set()
    for message in simulate_messages(config):
        assert message.event is not None
        pair = (message.key, message.event.contact_point.value)
        if message.key in strategic and pair not in used:
            used.add(pair)
            yield message


def build_load(*, rate: float, seconds: float, bad_fraction: float) -> Load:
    """Good touchpoints at ``rate``, every ``1/bad_fraction``-th one a measured bad experience."""
    total = round(rate * seconds)
    every = max(1, round(1 / bad_fraction))
    bad_count = total // every
    # strategic accounts (10% of all) with four contact points: four free pairs per bad event
    start = datetime.now(UTC) - timedelta(seconds=60)
    common: dict[str, Any] = {
        "accounts": max(5_000, bad_count * 10), "start": start, "mean_gap_seconds": 1 / rate
    }
    good = SimulationConfig(seed=SEED, bad_probability=0.0, **common)
    accounts = simulate_accounts(good)
    strategic = {a.account_id for a in accounts if a.tier is AccountTier.STRATEGIC}
    bad = _bad_events(SimulationConfig(seed=SEED + 1, bad_probability=1.0, **common), strategic)
    good_stream = simulate_messages(good)
    warmup = [(m.key.encode(), m.value) for m in islice(good_stream, WARMUP_EVENTS)]
    records: list[tuple[bytes, bytes, str | None]] = []
    for index in range(total):
        measured = (index + 1) % every == 0
        message = next(bad) if measured else next(good_stream)
        event_id = message.event.event_id if measured and message.event else None
        records.append((message.key.encode(), message.value, event_id))
    return Load(
        accounts=[(a.account_id.encode(), a.model_dump_json().encode()) for a in accounts],
        warmup=warmup,
        records=records,
    )


@dataclass(slots=True)
class Publication:
    sent_at: dict[str, int]
    """Measured event id -> CreateTime (ms) of its source record."""
    rate: float


def publish_paced(
    pipeline: Pipeline, records: list[tuple[bytes, bytes, str | None]], rate: float
) -> Publication:
    """Publish at ``rate`` in 10 ms chunks; note the CreateTime of each measured record."""
    producer = kafka_producer(pipeline.kafka)
    topic = pipeline.topics.touchpoints
    sent_at: dict[str, int] = {}

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is None:
            event_id = orjson.loads(message.value() or b"")["event_id"]
            sent_at[event_id] = message.timestamp()[1]

    chunk = max(1, round(rate / TICKS_PER_SECOND))
    began = time.perf_counter()
    for first in range(0, len(records), chunk):
        if (pause := began + first / rate - time.perf_counter()) > 0:
            time.sleep(pause)
        for key, value, event_id in records[first : first + chunk]:
            produce_one(producer, topic, key, value, delivered if event_id else None)
        producer.poll(0)
    elapsed = time.perf_counter() - began
    if producer.flush(60) != 0:
        raise BenchError("touchpoints not delivered within 60 s")
    return Publication(sent_at=sent_at, rate=(len(records) - chunk) / elapsed)


def alert_latencies(
    pipeline: Pipeline,
    workers: list[ServiceProcess],
    sent_at: dict[str, int],
    *,
    expected: int,
    timeout: float,
) -> list[float]:
    """Milliseconds from each measured source record to the first alert listing its event id.

    Reads until every measured event has an alert, or the workers have consumed ``expected``
    events and no new alert came for a few seconds, or ``timeout`` passed.
    """
    consumer = assigned_consumer(pipeline.kafka, pipeline.topics.alerts)
    latencies: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while len(latencies) < len(sent_at) and time.monotonic() < deadline:
            batch = consumer.consume(500, timeout=0.5)
            for message in batch:
                if message.error() is not None:
                    raise BenchError(f"alerts consumer error: {message.error()}")
                appended = message.timestamp()[1]
                for event_id in orjson.loads(message.value() or b"")["event_ids"]:
                    if event_id in sent_at and event_id not in latencies:
                        latencies[event_id] = appended - sent_at[event_id]
            for worker in workers:
                check_alive(worker)
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > QUIET_SECONDS and (
                sum(w.metric("kam_worker_events_consumed_total") for w in workers) >= expected
            ):
                break
    finally:
        consumer.close()
    return list(latencies.values())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def run(
    *,
    bootstrap: str,
    workdir: Path,
    rate: float = 5_000,
    seconds: float = 10,
    bad_fraction: float = 0.02,
    workers: int = 1,
) -> list[Result]:
    """Warm ``workers`` workers of one group up, publish the paced load and measure each bad
    event's first alert."""
    load = build_load(rate=rate, seconds=seconds, bad_fraction=bad_fraction)
    pipeline = new_pipeline(
        bootstrap=bootstrap, workdir=workdir, label=f"latency-{workers}",
        topic_config={"alerts": {"message.timestamp.type": "LogAppendTime"}},
    )  # fmt: skip
    with ExitStack() as stack:
        group = group_of(pipeline, workers, load.accounts, stack)
        produce_all(kafka_producer(pipeline.kafka), pipeline.topics.touchpoints, load.warmup)
        enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
        try:
            wait_until(
                lambda: enriched.records() >= len(load.warmup), timeout=120,
                what="the warm-up events", alive=group, interval=0.25,
            )  # fmt: skip
        finally:
            enriched.close()
        time.sleep(2 * LOOP_LAG_MAX_WINDOW_SECONDS)  # the warm-up's stalls leave the gauge
        stalls = [stack.enter_context(peak_of(worker, LOOP_LAG_MAX)) for worker in group]
        publication = publish_paced(pipeline, load.records, rate)
        expected = len(load.warmup) + len(load.records)
        latencies = alert_latencies(
            pipeline, group, publication.sent_at, expected=expected,
            timeout=120 + len(load.records) / 250,
        )  # fmt: skip
        stack.close()  # stops the samplers (their last sample) before the workers
    stall = max(peak.value for peak in stalls)
    measured = len(publication.sent_at)
    if not latencies:
        raise BenchError(f"no alert for any of {measured} bad events")
    print(
        f"latency: {len(load.records)} events at {publication.rate:,.0f}/s, {workers} "
        f"worker(s), {measured} bad, {len(latencies)} alerted; mean "
        f"{statistics.fmean(latencies):,.0f} ms; longest event-loop stall {stall * 1000:,.0f} ms "
        f"({sum(peak.samples for peak in stalls)} samples)",
        flush=True,
    )
    quantiles = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "max": 1.0}
    at = f"@{rate:,.0f}/s" + (f", {workers} workers" if workers > 1 else "")
    return [
        Result(
            metric=f"input rate achieved {at} (events/s)", measured=publication.rate, unit="/s",
            baseline=rate, target=0.95,
        ),
        Result(
            metric=f"bad events with an alert {at}", measured=len(latencies), unit="",
            baseline=measured, target=1.0,
        ),
        *[
            Result(
                metric=f"event -> alert {name} {at} (ms)", measured=percentile(latencies, q),
                unit="ms", target=P99_TARGET_MS if name == "p99" else None,
                direction="at_most", compare="value",
            )
            for name, q in quantiles.items()
        ],
        Result(
            metric=f"longest event-loop stall {at} (ms)", measured=stall * 1000, unit="ms",
            target=STALL_TARGET_MS, direction="at_most", compare="value",
        ),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--bad-fraction", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=1, help="workers of one group")
    args = parser.parse_args()
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results = run(
            bootstrap=bootstrap, workdir=Path(tmp), rate=args.rate, seconds=args.seconds,
            bad_fraction=args.bad_fraction, workers=args.workers,
        )  # fmt: skip
    print(format_table(results))


if __name__ == "__main__":
    main()
