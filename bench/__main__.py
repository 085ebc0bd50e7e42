"""Run every benchmark against one local broker and print one summary table.

    .venv/bin/python -m bench [--only worker latency memory recovery sink] [sizes, see --help]

Each benchmark compares with a baseline run side by side in the same run, on the same records
(a do-nothing Faust agent with the worker's settings, confluent-kafka consume + validate_json,
the pure core in-process, the raw consumer, one bulk insert, an idle worker) or with an absolute
target; see docs/benchmarks.md. The defaults finish in about eight minutes on two shared cores;
raise the sizes for longer runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench import (
    bench_backfill,
    bench_ingest,
    bench_latency,
    bench_memory,
    bench_recovery,
    bench_scaleout,
    bench_worker,
    sink,
)
from bench.common import BenchError, Result, format_table
from kam.localkafka import local_kafka

BENCHMARKS = (
    "sink", "backfill", "worker", "backfill-worker", "latency", "scaleout", "memory", "recovery",
    "ingest",
)  # fmt: skip


def machine() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {' '.join(load)}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--events", type=int, default=50_000, help="worker: touchpoints")
    parser.add_argument("--accounts", type=int, default=2_000, help="worker: accounts")
    parser.add_argument("--rate", type=float, default=5_000, help="latency: touchpoints/s")
    parser.add_argument("--seconds", type=float, default=10, help="latency: load duration")
    parser.add_argument(
        "--bad-fraction", type=float, default=0.02, help="latency: share of measured bad events"
    )
    parser.add_argument(
        "--low-rate", type=float, default=500, help="latency: a second, sustainable rate (0: off)"
    )
    parser.add_argument(
        "--half-capacity", action=argparse.BooleanOptionalAction, default=True,
        help="latency: also at half the worker's full-path rate measured in this run",
    )  # fmt: skip
    parser.add_argument(
        "--latency-workers", type=int, default=os.cpu_count() or 1,
        help="latency: also at --rate with this many workers of one group (1: off)",
    )  # fmt: skip
    parser.add_argument(
        "--scaleout-events", type=int, default=20_000, help="scaleout: touchpoints"
    )
    parser.add_argument(
        "--memory-accounts", type=int, nargs="+", default=list(bench_memory.SIZES),
        help="memory: accounts held, one worker per size",
    )  # fmt: skip
    parser.add_argument("--sink-rows", type=int, default=50_000, help="sink: rows")
    parser.add_argument(
        "--backfill-events", type=int, default=60_000, help="backfill: events over a year"
    )
    parser.add_argument(
        "--backfill-worker-events", type=int, default=12_000,
        help="backfill-worker: events over a year, through a real worker per order",
    )  # fmt: skip
    parser.add_argument(
        "--recovery-repetitions", type=int, default=3, help="recovery: kills and restarts"
    )
    parser.add_argument(
        "--ingest-events", type=int, default=20_000, help="ingest: events, HTTP and SDK"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print(f"start: {machine()}", flush=True)
    results: list[Result] = []
    failures: list[str] = []

    def attempt(name: str, run: Callable[[], list[Result]]) -> None:
        if name not in args.only:
            return
        began = time.monotonic()
        try:
            results.extend(run())
        except BenchError as error:
            failures.append(f"{name}: {error}")
            print(f"{name} FAILED: {error}", file=sys.stderr, flush=True)
        print(f"{name}: {time.monotonic() - began:.0f}s", flush=True)

    attempt("sink", lambda: sink.run(rows=args.sink_rows))
    attempt("backfill", lambda: bench_backfill.run(events=args.backfill_events))
    if set(args.only) - {"sink", "backfill"}:
        with local_kafka() as bootstrap, tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
            workdir = Path(tmp)
            attempt(
                "worker",
                lambda: bench_worker.run(
                    bootstrap=bootstrap, workdir=workdir, events=args.events,
                    accounts=args.accounts,
                ),
            )  # fmt: skip
            attempt(
                "backfill-worker",
                lambda: bench_backfill.run_worker(
                    bootstrap=bootstrap, workdir=workdir, events=args.backfill_worker_events
                ),
            )
            attempt(
                "latency",
                lambda: bench_latency.run(
                    bootstrap=bootstrap, workdir=workdir, rate=args.rate, seconds=args.seconds,
                    bad_fraction=args.bad_fraction,
                ),
            )  # fmt: skip
            low_rates = [args.low_rate] if args.low_rate else []
            capacity = [r.measured for r in results if r.metric == bench_worker.FULL_PATH]
            if args.half_capacity and capacity:
                low_rates.append(round(capacity[0] / 2))
            if args.latency_workers > 1:
                attempt(
                    "latency",
                    lambda: bench_latency.run(
                        bootstrap=bootstrap, workdir=workdir, rate=args.rate,
                        seconds=args.seconds, bad_fraction=args.bad_fraction,
                        workers=args.latency_workers,
                    ),
                )  # fmt: skip
            for low_rate in low_rates:
                attempt(
                    "latency",
                    partial(
                        bench_latency.run, bootstrap=bootstrap, workdir=workdir, rate=low_rate,
                        seconds=args.seconds, bad_fraction=args.bad_fraction,
                    ),
                )  # fmt: skip
            attempt(
                "scaleout",
                lambda: bench_scaleout.run(
                    bootstrap=bootstrap, workdir=workdir, events=args.scaleout_events,
                    accounts=args.accounts,
                ),
            )  # fmt: skip
            attempt(
                "memory",
                lambda: bench_memory.run(
                    bootstrap=bootstrap, workdir=workdir, sizes=args.memory_accounts
                ),
            )
            attempt(
                "recovery",
                lambda: bench_recovery.run(
                    bootstrap=bootstrap, workdir=workdir, repetitions=args.recovery_repetitions
                ),
            )
            attempt(
                "ingest",
                lambda: bench_ingest.run(
                    bootstrap=bootstrap, workdir=workdir, events=args.ingest_events
                ),
            )
    print(f"end: {machine()}\n")
    print(format_table(results))
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
