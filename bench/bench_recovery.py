"""Worker crash recovery: SIGKILL -> first new enriched output of the restarted worker.

A worker processes simulated touchpoints published at a steady ``--recovery-rate`` (default
100/s) from a background producer. Each repetition waits until the running worker has delivered
enriched output, SIGKILLs it, starts a new ``kam worker`` on the same data directory (the way a
supervisor restarts a crashed container) and times the kill until the new process's
``kam_worker_events_valid_total`` turns non-zero: the worker counts a batch only after the broker
acknowledged its outputs, so that is its first enriched record on the topic. Target < 15 s.

    .venv/bin/python -m bench.bench_recovery [--repetitions 3] [--rate 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from bench.common import (
    BenchError,
    Pipeline,
    Result,
    format_table,
    kafka_producer,
    load_accounts,
    new_pipeline,
    produce_one,
    wait_until,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts

SEED = 20260303
ACCOUNTS = 200
RECOVERY_TARGET_SECONDS = 15.0
RECOVERY_TIMEOUT = 90.0
"""A restarted worker that has not produced output after this long fails the benchmark."""
OUTPUT_METRIC = "kam_worker_events_valid_total"


def publish_steadily(
    pipeline: Pipeline, records: list[tuple[bytes, bytes]], rate: float, stop: threading.Event
) -> None:
    """Publish ``records`` at ``rate`` per second until they run out or ``stop`` is set."""
    producer = kafka_producer(pipeline.kafka)
    began = time.perf_counter()
    for index, (key, value) in enumerate(records):
        if stop.wait(max(0.0, began + index / rate - time.perf_counter())):
            break
        produce_one(producer, pipeline.topics.touchpoints, key, value)
        producer.poll(0)
    producer.flush(30)


def kill_and_restart(pipeline: Pipeline, workers: list[ServiceProcess]) -> float:
    """SIGKILL the last of ``workers`` once it delivered output, start (and add) its successor
    on the same data directory; return the seconds until the successor's first output."""
    worker = workers[-1]
    wait_until(
        lambda: worker.metric(OUTPUT_METRIC) > 0,
        timeout=RECOVERY_TIMEOUT,
        what=f"output from {worker.name}",
        alive=[worker],
        interval=0.05,
    )
    worker.kill()
    killed = time.monotonic()
    successor = pipeline.worker()
    workers.append(successor.start())
    wait_until(
        lambda: successor.metric(OUTPUT_METRIC) > 0,
        timeout=RECOVERY_TIMEOUT,
        what="the restarted worker's first enriched output",
        alive=[successor],
        interval=0.05,
    )
    return time.monotonic() - killed


def run(
    *, bootstrap: str, workdir: Path, repetitions: int = 3, rate: float = 100.0
) -> list[Result]:
    """Kill and restart one worker ``repetitions`` times under a steady load."""
    if repetitions < 1:
        raise BenchError("at least one repetition")
    start = datetime.now(UTC) - timedelta(minutes=10)
    config = SimulationConfig(seed=SEED, accounts=ACCOUNTS, start=start, mean_gap_seconds=1 / rate)
    account_records = [
        (a.account_id.encode(), a.model_dump_json().encode()) for a in simulated_accounts(config)
    ]
    budget = round(rate * repetitions * (RECOVERY_TIMEOUT + 30))  # never runs dry, bounded
    touchpoints = [(m.key.encode(), m.value) for m in islice(simulate_messages(config), budget)]
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label="recovery")
    workers = [pipeline.worker().start()]
    stop = threading.Event()
    publisher = threading.Thread(
        target=publish_steadily, args=(pipeline, touchpoints, rate, stop), daemon=True
    )
    seconds: list[float] = []
    try:
        load_accounts(pipeline, workers[0], account_records)
        publisher.start()
        for _ in range(repetitions):
            seconds.append(kill_and_restart(pipeline, workers))
            print(f"recovery: kill to first new output {seconds[-1]:.1f}s", flush=True)
    finally:
        stop.set()
        for worker in workers:
            worker.stop()  # the killed ones are already gone
        if publisher.is_alive():
            publisher.join(timeout=60)
    return [
        Result(
            metric=f"worker kill -> first new output, median of {repetitions} (s)",
            measured=statistics.median(seconds), unit="s", target=RECOVERY_TARGET_SECONDS,
            direction="at_most", compare="value",
        ),
        Result(
            metric=f"worker kill -> first new output, max of {repetitions} (s)",
            measured=max(seconds), unit="s", target=RECOVERY_TARGET_SECONDS,
            direction="at_most", compare="value",
        ),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results = run(
            bootstrap=bootstrap, workdir=Path(tmp), repetitions=args.repetitions, rate=args.rate
        )
    print(format_table(results))


if __name__ == "__main__":
    main()
