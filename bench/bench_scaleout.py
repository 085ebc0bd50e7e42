"""Scale-out: two workers in one group on the 4-partition topic against one worker, same records.

One worker takes N simulated touchpoints (published once its accounts are applied); then, on
fresh topics, two workers of one group take the same N. Each rate runs from the first record
published until the enriched topic holds N records, and that topic must then hold exactly N:
no event lost or sent twice by the split. Target: two workers >= 1.7x one (2 cores here).

    .venv/bin/python -m bench.bench_scaleout [--events 20000] [--accounts 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from contextlib import ExitStack
from itertools import islice
from pathlib import Path

from bench.bench_worker import simulation
from bench.common import (
    PARTITIONS,
    BenchError,
    Pipeline,
    Result,
    TopicSize,
    check_alive,
    format_table,
    kafka_producer,
    new_pipeline,
    produce_all,
    running,
    wait_until,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import simulate_messages, simulated_accounts

TARGET = 1.7
POLL_SECONDS = 0.2
Records = list[tuple[bytes, bytes]]


def take(
    pipeline: Pipeline, workers: list[ServiceProcess], touchpoints: Records, timeout: float
) -> float:
    """Publish ``touchpoints``; events per second until the enriched topic holds them all."""
    producer = kafka_producer(pipeline.kafka, **{"linger.ms": 20})
    enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
    publish = threading.Thread(
        target=produce_all, args=(producer, pipeline.topics.touchpoints, touchpoints)
    )
    started = time.monotonic()
    publish.start()
    try:
        while (stored := enriched.records()) < len(touchpoints):
            if time.monotonic() - started > timeout:
                raise BenchError(f"{stored} of {len(touchpoints)} enriched in {timeout:.0f}s")
            for worker in workers:
                check_alive(worker)
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
        time.sleep(1.0)  # anything sent twice would show up now
        if (stored := enriched.records()) != len(touchpoints):
            raise BenchError(f"the enriched topic holds {stored} records for {len(touchpoints)}")
    finally:
        publish.join()
        enriched.close()
    return len(touchpoints) / seconds


def group_of(
    pipeline: Pipeline, size: int, accounts: Records, stack: ExitStack
) -> list[ServiceProcess]:
    """``size`` workers of one group, each owning touchpoint partitions, every account applied."""
    workers = [
        stack.enter_context(running(pipeline.worker(name=f"worker-{n}"))) for n in range(size)
    ]
    produce_all(kafka_producer(pipeline.kafka), pipeline.topics.accounts, accounts)

    def settled() -> bool:
        applied = sum(w.metric("kam_worker_account_updates_total") for w in workers)
        owned = [w.metric("kam_worker_assigned_partitions") for w in workers]
        return applied >= len(accounts) and sum(owned) == PARTITIONS and min(owned) > 0

    wait_until(settled, timeout=120, what=f"{size} worker(s) to own the partitions",
               alive=workers, interval=0.5)  # fmt: skip
    return workers


def run(
    *, bootstrap: str, workdir: Path, events: int = 20_000, accounts: int = 2_000
) -> list[Result]:
    config = simulation(events, accounts)
    account_records = [
        (a.account_id.encode(), a.model_dump_json().encode()) for a in simulated_accounts(config)
    ]
    touchpoints = [(m.key.encode(), m.value) for m in islice(simulate_messages(config), events)]
    timeout = 120 + events / 100
    rates = {}
    for size in (1, 2):
        pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label=f"scaleout-{size}")
        with ExitStack() as stack:
            workers = group_of(pipeline, size, account_records, stack)
            rates[size] = take(pipeline, workers, touchpoints, timeout)
        print(f"scale-out: {size} worker(s) took {events} events at {rates[size]:,.0f}/s",
              flush=True)  # fmt: skip
    return [
        Result(
            metric=f"two workers vs one worker, {PARTITIONS} partitions (events/s)",
            measured=rates[2],
            unit="/s", baseline=rates[1], target=TARGET,
        )
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    args = parser.parse_args()
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results = run(
            bootstrap=bootstrap, workdir=Path(tmp), events=args.events, accounts=args.accounts
        )
    print(format_table(results))


if __name__ == "__main__":
    main()
