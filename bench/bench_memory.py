"""Resident memory of a worker holding 10k, 100k and 200k accounts, against the same worker idle.

The worker starts on fresh topics and applies one account: its RSS then is the idle baseline.
Then the simulated accounts are applied and every one of them gets a touchpoint of the last days
(so each has KPI state, and the bad ones of alerting tiers alert state); once the enriched topic
holds them all, RSS (``VmRSS``) and its peak (``VmHWM``) are read from ``/proc/<pid>/status``.

    .venv/bin/python -m bench.bench_memory [--accounts 10000 100000 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from pathlib import Path

from bench.common import (
    Pipeline,
    Result,
    TopicSize,
    format_table,
    kafka_producer,
    load_accounts,
    new_pipeline,
    produce_all,
    rss_mb,
    running,
    wait_until,
)
from kam.localkafka import local_kafka
from kam.processes import ServiceProcess
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts

SEED = 20260303
TARGET_MB = 300
TARGET_ACCOUNTS = 100_000
SETTLE_SECONDS = 2.0


def one_touchpoint_each(config: SimulationConfig) -> list[tuple[bytes, bytes]]:
    """One simulated touchpoint per account, the i-th event moved to the i-th account."""
    records = []
    for index, message in enumerate(islice(simulate_messages(config), config.accounts)):
        assert message.event is not None
        account_id = f"acct-{index:04d}"
        event = message.event.model_copy(update={"account_id": account_id})
        records.append((account_id.encode(), event.model_dump_json().encode()))
    return records


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill(
    pipeline: Pipeline, worker: ServiceProcess, touchpoints: list[tuple[bytes, bytes]]
) -> None:
    """Publish the touchpoints and wait until the enriched topic holds all of them."""
    produce_all(kafka_producer(pipeline.kafka), pipeline.topics.touchpoints, touchpoints)
    enriched = TopicSize(kafka=pipeline.kafka, topic=pipeline.topics.enriched)
    try:
        wait_until(
            lambda: enriched.records() >= len(touchpoints),
            timeout=120 + len(touchpoints) / 200,
            what=f"{len(touchpoints)} enriched touchpoints",
            alive=[worker],
            interval=0.5,
        )
    finally:
        enriched.close()


SIZES = (10_000, 100_000, 200_000)
"""Accounts held in the runs of ``make bench``: the target is at 100k, the growth per extra
account is measured between consecutive sizes."""


def run(*, bootstrap: str, workdir: Path, sizes: Sequence[int] = SIZES) -> list[Result]:
    """For each size, a fresh worker: idle RSS with one account, then holding that many
    accounts and their KPI state; the growth per extra account between consecutive sizes."""
    held: dict[int, float] = {}
    results: list[Result] = []
    for accounts in sorted(sizes):
        rows, held[accounts] = one_size(bootstrap=bootstrap, workdir=workdir, accounts=accounts)
        results += rows
    for small, large in pairwise(sorted(held)):
        growth = (held[large] - held[small]) * 1024 / (large - small)
        results.append(
            Result(
                metric=f"worker RSS growth per extra account, {small // 1000}k -> "
                f"{large // 1000}k (KiB)",
                measured=growth, unit="KiB",
            )
        )
    return results


def one_size(*, bootstrap: str, workdir: Path, accounts: int) -> tuple[list[Result], float]:
    """Idle RSS with one account, then RSS holding ``accounts`` accounts and their KPI state."""
    # A day of events on average; a day earlier so that no random run of gaps reaches the future.
    start = datetime.now(UTC) - timedelta(days=2)
    config = SimulationConfig(
        seed=SEED, accounts=accounts, start=start, mean_gap_seconds=86_400 / accounts
    )
    account_records = [
        (a.account_id.encode(), a.model_dump_json().encode()) for a in simulated_accounts(config)
    ]
    touchpoints = one_touchpoint_each(config)
    pipeline = new_pipeline(bootstrap=bootstrap, workdir=workdir, label=f"memory-{accounts}")
    with running(pipeline.worker()) as worker:
        load_accounts(pipeline, worker, account_records[:1])
        time.sleep(SETTLE_SECONDS)
        idle = rss_mb(worker.pid)
        load_accounts(pipeline, worker, account_records)  # the first one again: a redelivery
        time.sleep(SETTLE_SECONDS)
        accounts_only = rss_mb(worker.pid)
        fill(pipeline, worker, touchpoints)
        time.sleep(SETTLE_SECONDS)
        held, peak = rss_mb(worker.pid), peak_rss_mb(worker.pid)
    print(
        f"memory: idle {idle:.0f} MiB; {accounts} accounts {accounts_only:.0f} MiB; "
        f"with {len(touchpoints)} touchpoints: "
        f"{held:.0f} MiB (peak {peak:.0f} MiB)",
        flush=True,
    )
    size = f"{accounts // 1000}k accounts"
    target = TARGET_MB if accounts == TARGET_ACCOUNTS else None
    return [
        Result(
            metric=f"worker RSS, {size} only (MiB)", measured=accounts_only, unit="MiB",
            baseline=idle,
        ),
        Result(
            metric=f"worker RSS, {size} + their KPI state (MiB)", measured=held, unit="MiB",
            baseline=idle, target=target, direction="at_most", compare="value",
        ),
        Result(
            metric=f"worker peak RSS during the load, {size} (MiB)", measured=peak, unit="MiB",
            baseline=idle, target=target, direction="at_most", compare="value",
        ),
    ], held  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        results = run(bootstrap=bootstrap, workdir=Path(tmp), sizes=args.accounts)
    print(format_table(results))


if __name__ == "__main__":
    main()
