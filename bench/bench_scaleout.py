"""Scale-out: two workers in one group on the 4-partition topic against one worker, same records.

One worker takes N simulated touchpoints (published once its accounts are applied); then, on
fresh topics, two workers of one group take the same N. Each rate runs from the first record
published until the enriched topic holds N records, and that topic must then hold exactly N:
no event lost or sent twice by the split. Target: two workers >= 1.7x one (2 cores here).

Each run also reports the CPU time per 1,000 events of the workers, of the broker (the process
listening on the bootstrap port, when it runs here) and of this process (the producer): with
everything on one 2-core machine, what the broker and the producer take is not there for the
workers, and an unchanged CPU per event with one and two workers says the code scales and
the cores do not.

    .venv/bin/python -m bench.bench_scaleout [--events 20000] [--accounts 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
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
    cpu_seconds,
    format_table,
    kafka_producer,
    listener_pid,
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


@dataclass(frozen=True, slots=True)
class Take:
    rate: float
    """Events per second, from the first record published to the last one enriched."""
    seconds: float
    cpu: dict[str, float]
    """CPU seconds per 1,000 events of ``workers``, ``broker`` and ``producer``."""


def take(
    pipeline: Pipeline, workers: list[ServiceProcess], touchpoints: Records, timeout: float
) -> Take:
    """Publish ``touchpoints`` and wait until the enriched topic holds them all."""
    producer = kafka_producer(pipeline.kafka, **{"linger.ms": 20})
    enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
    publish = threading.Thread(
        target=produce_all, args=(producer, pipeline.topics.touchpoints, touchpoints)
    )
    broker = listener_pid(int(pipeline.kafka.bootstrap_servers.rsplit(":", 1)[1]))

    def cpu() -> dict[str, float]:
        used = {
            "workers": sum(cpu_seconds(w.pid) for w in workers),
            "producer": time.process_time(),
        }
        if broker is not None:
            used["broker"] = cpu_seconds(broker)
        return used

    before = cpu()
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
        after = cpu()
        time.sleep(1.0)  # anything sent twice would show up now
        if (stored := enriched.records()) != len(touchpoints):
            raise BenchError(f"the enriched topic holds {stored} records for {len(touchpoints)}")
    finally:
        publish.join()
        enriched.close()
    per_thousand = {k: (after[k] - before[k]) * 1000 / len(touchpoints) for k in after}
    return Take(len(touchpoints) / seconds, seconds, per_thousand)


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
    takes = {}
    for size in (1, 2):
        pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label=f"scaleout-{size}")
        with ExitStack() as stack:
            workers = group_of(pipeline, size, account_records, stack)
            takes[size] = taken = take(pipeline, workers, touchpoints, timeout)
        used = ", ".join(f"{who} {seconds:.2f}" for who, seconds in taken.cpu.items())
        cores = sum(taken.cpu.values()) * taken.rate / 1000
        print(f"scale-out: {size} worker(s) took {events} events at {taken.rate:,.0f}/s; CPU s "
              f"per 1k events: {used}; {cores:.2f} of {os.cpu_count()} cores busy with them",
              flush=True)  # fmt: skip
    rows = [
        Result(
            metric=f"two workers vs one worker, {PARTITIONS} partitions (events/s)",
            measured=takes[2].rate,
            unit="/s", baseline=takes[1].rate, target=TARGET,
        )
    ]  # fmt: skip
    for who in takes[2].cpu:
        rows.append(
            Result(
                metric=f"{who} CPU per 1k events, two workers vs one (s)",
                measured=takes[2].cpu[who], unit="s", baseline=takes[1].cpu.get(who),
            )
        )  # fmt: skip
    return rows


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
