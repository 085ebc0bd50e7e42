"""One worker's full path (validate, enrich, KPIs, alerts) beside its baselines, same records.

N simulated touchpoints (fixed seed, every contact point, 5% bad experiences, event times in
the last hours so KPIs and alerts are live) go to a fresh topic after the worker has applied the
accounts. Worker rate: events between the first and last change of
``kam_worker_events_consumed_total`` (polled every 50 ms) over that time; full-path rate: the same
start until the enriched topic holds all N records. Then, on the same N records, one after the
other so that none competes with another for the CPU:

- a do-nothing Faust agent with the worker's Faust settings (:mod:`bench.faust_baseline`),
  timed like the worker's consumed rate (target: full path >= 0.7x of it);
- a group-less confluent-kafka consumer reading them in batches of 1000, timed from its first
  batch to its last: raw, then with ``TOUCHPOINT_ADAPTER.validate_json`` of every value;
- the pure core (:class:`streams.pipeline.TouchpointProcessor` with the worker's settings, no
  Kafka) fed the records as consumed, ``KAM_WORKER_BATCH_SIZE`` at a time (target: >= 0.5x
  consume + validate).

The worker's and the Faust agent's CPU time per 1,000 events are reported too: unlike rates,
they hardly move with the load of a shared machine.

    .venv/bin/python -m bench.bench_worker [--events 50000] [--accounts 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from confluent_kafka import Message
from pydantic import ValidationError

from bench.common import (
    FAUST_BASELINE_COUNTER,
    BenchError,
    Pipeline,
    Result,
    TopicSize,
    assigned_consumer,
    check_alive,
    cpu_seconds,
    format_table,
    kafka_producer,
    load_accounts,
    new_pipeline,
    produce_all,
    replay_core,
    running,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from kam.settings import WorkerSettings
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from schemas import TOUCHPOINT_ADAPTER
from streams.replay import offline_processor
from streams.validation import SourceRecord

SEED = 20260301
POLL_SECONDS = 0.2
"""How often counters are scraped: often enough for 1% on a run of 20 s or more, rarely enough
that answering the scrapes costs the worker little (Prometheus itself scrapes every 15 s; at
every 50 ms the exposition took 5-8% of the worker's CPU, more than the baseline's)."""
CONSUMED = "kam_worker_events_consumed_total"
FULL_PATH = "worker full path to enriched topic (events/s)"
"""The row whose rate is the one-worker capacity (the latency benchmark runs at half of it)."""
FULL_PATH_TARGET = 0.7
"""Worker full path >= 0.7x the do-nothing Faust agent: our work costs less than Faust's."""
CORE_TARGET = 0.5
"""Pure core >= 0.5x confluent-kafka consume + validate_json."""


@dataclass(frozen=True, slots=True)
class Observed:
    """A process taking N events, from the first change of its counter."""

    rate: float
    """Events between the first and the N-th count over that time."""
    done_rate: float
    """The same start until the output topic holds N records (``rate`` without one)."""
    seconds: float
    cpu_seconds: float
    """The process's CPU time over the same span (all threads)."""
    events: int
    """Events in the span (N minus those counted at its first sample)."""

    @property
    def cpu_per_thousand(self) -> float:
        return self.cpu_seconds / self.events * 1000


def simulation(events: int, accounts: int) -> SimulationConfig:
    """Events one second apart on average, ending ten minutes ago."""
    start = datetime.now(UTC) - timedelta(seconds=events + 600)
    return SimulationConfig(seed=SEED, accounts=accounts, start=start, bad_probability=0.05)


def observe(
    process: ServiceProcess,
    metric: str,
    events: int,
    timeout: float,
    *,
    output: TopicSize | None = None,
) -> Observed:
    """Poll ``metric`` (and the ``output`` topic) until both reach ``events``."""
    first: tuple[float, float, float] | None = None
    counted_at = done_at = cpu_done = None
    deadline = time.monotonic() + timeout
    while cpu_done is None:
        if time.monotonic() > deadline:
            raise BenchError(f"{process.name} did not take {events} events in {timeout:.0f}s")
        check_alive(process)
        now, counted = time.monotonic(), process.metric(metric)
        if first is None and counted > 0:
            first = (now, counted, cpu_seconds(process.pid))
        if counted_at is None and counted >= events:
            counted_at = now
            done_at = now if output is None else None
        if done_at is None and first and output is not None and output.records() >= events:
            done_at = time.monotonic()
        if done_at is not None and counted_at is not None:
            cpu_done = cpu_seconds(process.pid)
        else:
            time.sleep(POLL_SECONDS)
    assert first is not None and counted_at is not None and done_at is not None
    started, already, cpu_started = first
    taken = int(events - already)
    return Observed(
        rate=taken / max(counted_at - started, POLL_SECONDS),
        done_rate=taken / max(done_at - started, POLL_SECONDS),
        seconds=done_at - started,
        cpu_seconds=cpu_done - cpu_started,
        events=max(taken, 1),
    )


def publish_and_observe(
    pipeline: Pipeline, worker: ServiceProcess, records: list[tuple[bytes, bytes]], timeout: float
) -> Observed:
    """Publish ``records`` to the touchpoints topic while :func:`observe` watches the worker's
    consumed counter and its enriched topic."""
    producer = kafka_producer(pipeline.kafka, **{"linger.ms": 20})
    publish = threading.Thread(
        target=produce_all, args=(producer, pipeline.topics.touchpoints, records)
    )
    publish.start()
    enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
    try:
        return observe(worker, CONSUMED, len(records), timeout, output=enriched)
    finally:
        enriched.close()
        publish.join()


def consume_rate(
    pipeline: Pipeline, events: int, timeout: float, *, validate: bool = False
) -> tuple[float, list[Message]]:
    """Messages per second of a confluent-kafka consumer reading the touchpoints topic (each
    value validated as a touchpoint with ``validate``), and the messages in the order read."""
    consumer = assigned_consumer(pipeline.kafka, pipeline.topics.touchpoints)
    messages: list[Message] = []
    first = None
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < events:
            if time.monotonic() > deadline:
                raise BenchError(f"raw consumer read {len(messages)} of {events} records")
            batch = consumer.consume(1000, timeout=1.0)
            if first is None and batch:
                first = (time.perf_counter(), len(batch))
            errors = [m.error() for m in batch if m.error() is not None]
            if errors:
                raise BenchError(f"raw consumer error: {errors[0]}")
            if validate:
                for message in batch:  # an invalid record costs its rejection, as in the worker
                    with contextlib.suppress(ValidationError):
                        TOUCHPOINT_ADAPTER.validate_json(message.value() or b"")
            messages += batch
        finished = time.perf_counter()
    finally:
        consumer.close()
    assert first is not None
    return (events - first[1]) / (finished - first[0]), messages


def core_rate(config: SimulationConfig, messages: list[Message], worker: WorkerSettings) -> float:
    """Events per second of the pure core with the worker's settings on the consumed records."""
    records = [
        SourceRecord(m.value(), m.topic() or "", m.partition() or 0, m.offset() or 0)
        for m in messages
    ]
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(config), state=state, kpi_interval=worker.kpi_interval_seconds,
        idle_advance=worker.idle_advance_seconds,
        kpi_stream_interval=worker.kpi_stream_interval_seconds,
        kpi_state_cache=worker.kpi_state_cache_keys,
    )  # fmt: skip
    run = replay_core(processor, state, records, batch=worker.batch_size)
    print(
        f"pure core: {len(records)} events in {run.seconds:.1f}s, {run.batches} batches, "
        f"{run.kpi_updates:,} KPI updates",
        flush=True,
    )
    return run.rate(len(records))


def run(
    *, bootstrap: str, workdir: Path, events: int = 50_000, accounts: int = 2_000
) -> list[Result]:
    """Publish, let one worker process everything, then each baseline takes the same records."""
    config = simulation(events, accounts)
    account_records = [
        (a.account_id.encode(), a.model_dump_json().encode()) for a in simulated_accounts(config)
    ]
    touchpoints = [(m.key.encode(), m.value) for m in islice(simulate_messages(config), events)]
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label="worker")
    timeout = 120 + events / 200
    with running(pipeline.worker()) as worker:
        load_accounts(pipeline, worker, account_records)
        full = publish_and_observe(pipeline, worker, touchpoints, timeout)
        batch_seconds = worker.metric("kam_worker_batch_seconds_sum")
        batches = int(worker.metric("kam_worker_batch_seconds_count"))
        kpi_updates = int(worker.metric("kam_worker_kpi_updates_total"))
    with running(pipeline.faust_baseline()) as agent:
        faust = observe(agent, FAUST_BASELINE_COUNTER, events, timeout)
    raw, _ = consume_rate(pipeline, events, timeout)
    validated, messages = consume_rate(pipeline, events, timeout, validate=True)
    core = core_rate(config, messages, WorkerSettings())
    print(
        f"worker: {events} events in {full.seconds:.1f}s; consumed {full.rate:,.0f}/s, "
        f"enriched {full.done_rate:,.0f}/s, {full.cpu_per_thousand:.2f} CPU s per 1k events; "
        f"{batches} batches took {batch_seconds:.1f}s (validate, enrich, KPIs, alerts, send), "
        f"{kpi_updates:,} KPI updates; do-nothing Faust agent {faust.rate:,.0f}/s, "
        f"{faust.cpu_per_thousand:.2f} CPU s per 1k; raw consumer {raw:,.0f}/s, "
        f"+ validate_json {validated:,.0f}/s; pure core {core:,.0f}/s",
        flush=True,
    )
    return [
        Result(
            metric="do-nothing Faust agent, worker's settings (events/s)", measured=faust.rate,
            unit="/s", baseline=raw,
        ),
        Result(
            metric="worker consumed (events/s)", measured=full.rate, unit="/s",
            baseline=faust.rate,
        ),
        Result(
            metric=FULL_PATH, measured=full.done_rate, unit="/s", baseline=faust.rate,
            target=FULL_PATH_TARGET,
        ),
        Result(
            metric="worker CPU per 1k events, vs the Faust agent's (s)",
            measured=full.cpu_per_thousand, unit="s", baseline=faust.cpu_per_thousand,
        ),
        Result(
            metric="worker full path vs raw consumer (events/s)", measured=full.done_rate,
            unit="/s", baseline=raw,
        ),
        Result(
            metric="confluent-kafka consume + validate_json (events/s)", measured=validated,
            unit="/s", baseline=raw,
        ),
        Result(
            metric="pure core in-process, worker's settings (events/s)", measured=core,
            unit="/s", baseline=validated, target=CORE_TARGET,
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
