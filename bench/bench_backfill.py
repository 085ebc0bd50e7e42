"""A year of history, shuffled against in order (issue: backfills), two ways side by side.

:func:`run`: no Kafka, the same records processed a batch at a time in both orders by the pure
core. :func:`run_worker`: the same through a real ``kam worker`` and broker, each order on
fresh topics, published as ``kam backfill`` does while the worker runs, timed from the first
consumed event until the enriched topic holds all of them. The target is a shuffled backfill no
slower than an ordered one, with the KPI updates bounded by the span of stream time (see
``KAM_WORKER_KPI_STREAM_INTERVAL_SECONDS``), not by the events.

    .venv/bin/python -m bench.bench_backfill [--events 20000] [--accounts 200]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from bench.bench_worker import publish_and_observe
from bench.common import (
    BenchError,
    Pipeline,
    Result,
    TopicSize,
    check_alive,
    format_table,
    load_accounts,
    new_pipeline,
    replay_core,
    running,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from streams.replay import offline_processor
from streams.validation import SourceRecord

DAY = 86_400.0
BATCH = 1_000


def _replay(values: list[bytes], config: SimulationConfig, now: datetime) -> tuple[float, int]:
    """(events/s, KPI updates) of one pass over ``values`` in their order."""
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(config), state=state, kpi_interval=0.0, kpi_stream_interval=3600.0
    )
    records = [SourceRecord(v, "t", 0, offset) for offset, v in enumerate(values)]
    run = replay_core(processor, state, records, batch=BATCH, now=now)
    return run.rate(len(values)), run.kpi_updates


def run(*, events: int = 60_000, accounts: int = 200) -> list[Result]:
    now = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(
        seed=3, accounts=accounts, start=now - timedelta(days=365),
        mean_gap_seconds=365 * DAY / events,
    )  # fmt: skip
    values = [m.value for m in islice(simulate_messages(config), events)]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    ordered_rate, ordered_updates = _replay(values, config, now)
    shuffled_rate, shuffled_updates = _replay(shuffled, config, now)
    print(
        f"backfill: in order {ordered_rate:,.0f}/s ({ordered_updates:,} KPI updates), "
        f"shuffled {shuffled_rate:,.0f}/s ({shuffled_updates:,} KPI updates)",
        flush=True,
    )
    return [
        Result(
            metric="backfill of a year, shuffled vs in order (pure core)",
            measured=shuffled_rate, unit="events/s", baseline=ordered_rate, target=1.0,
        ),
        Result(
            metric="backfill KPI updates per event, shuffled (in order as baseline)",
            measured=shuffled_updates / events, unit="updates/event",
            baseline=ordered_updates / events, target=1.0, direction="at_most",
        ),
    ]  # fmt: skip


WORKER_ENV = {
    "KAM_WORKER_KPI_STREAM_INTERVAL_SECONDS": "3600",  # the documented backfill setting
    "KAM_WORKER_KPI_INTERVAL_SECONDS": "2",
    "KAM_WORKER_TICK_SECONDS": "1",
}
SETTLED_SECONDS = 5.0
"""The KPI topic counts as complete once it has not grown for this long (over 2 flushes)."""


def _year(events: int, accounts: int) -> tuple[SimulationConfig, list[tuple[bytes, bytes]]]:
    now = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(
        seed=3, accounts=accounts, start=now - timedelta(days=366),
        mean_gap_seconds=355 * DAY / events,
    )  # fmt: skip
    messages = list(islice(simulate_messages(config), events))
    if messages[-1].event is None or messages[-1].event.occurred_at > now - timedelta(hours=1):
        raise BenchError("the simulated year reaches the present: events would be dead-lettered")
    return config, [(m.key.encode(), m.value) for m in messages]


def _settled_size(pipeline: Pipeline, worker: ServiceProcess, timeout: float) -> int:
    """Records on the KPI topic once it stopped growing (the flush after the stream stopped)."""
    sizer = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.kpis)
    deadline = time.monotonic() + timeout
    try:
        size, since = sizer.records(), time.monotonic()
        while time.monotonic() - since < SETTLED_SECONDS:
            if time.monotonic() > deadline:
                raise BenchError(f"the KPI topic still grew after {timeout:.0f}s")
            check_alive(worker)
            time.sleep(0.5)
            now = sizer.records()
            if now != size:
                size, since = now, time.monotonic()
        return size
    finally:
        sizer.close()


def _worker_pass(
    *, bootstrap: str, workdir: Path, label: str, config: SimulationConfig,
    records: list[tuple[bytes, bytes]],
) -> tuple[float, int]:  # fmt: skip
    """(events/s to the enriched topic, KPI updates) of one worker over ``records``."""
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label=label)
    pipeline.env.update(WORKER_ENV)
    accounts = [(a.account_id.encode(), a.model_dump_json().encode())
                for a in simulated_accounts(config)]  # fmt: skip
    timeout = 120 + len(records) / 200
    with running(pipeline.worker()) as worker:
        load_accounts(pipeline, worker, accounts)
        observed = publish_and_observe(pipeline, worker, records, timeout)
        updates = _settled_size(pipeline, worker, timeout=60)
    return observed.done_rate, updates


def run_worker(
    *, bootstrap: str, workdir: Path, events: int = 12_000, accounts: int = 200
) -> list[Result]:
    """The same year through a real worker, in order then shuffled, each on fresh topics."""
    config, records = _year(events, accounts)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    ordered_rate, ordered_updates = _worker_pass(
        bootstrap=bootstrap, workdir=workdir, label="backfill-ordered", config=config,
        records=records,
    )  # fmt: skip
    shuffled_rate, shuffled_updates = _worker_pass(
        bootstrap=bootstrap, workdir=workdir, label="backfill-shuffled", config=config,
        records=shuffled,
    )  # fmt: skip
    print(
        f"backfill through a worker: in order {ordered_rate:,.0f}/s ({ordered_updates:,} KPI "
        f"updates), shuffled {shuffled_rate:,.0f}/s ({shuffled_updates:,} KPI updates)",
        flush=True,
    )
    return [
        Result(
            metric="backfill of a year through a worker, shuffled vs in order",
            measured=shuffled_rate, unit="events/s", baseline=ordered_rate, target=1.0,
        ),
        Result(
            metric="backfill KPI updates per event through a worker, shuffled (in order as "
            "baseline)",
            measured=shuffled_updates / events, unit="updates/event",
            baseline=ordered_updates / events, target=1.0, direction="at_most",
        ),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=200)
    args = parser.parse_args()
    results = run(events=args.events, accounts=args.accounts)
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results += run_worker(
            bootstrap=bootstrap, workdir=Path(tmp), events=args.events, accounts=args.accounts
        )
    print(format_table(results))


if __name__ == "__main__":
    main()
