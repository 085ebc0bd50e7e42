"""The worker benchmark of two source trees (e.g. two commits) on one broker, alternating.

A regression check: each tree's own ``bench.bench_worker`` runs with ``PYTHONPATH`` at that tree,
so its ``kam worker`` runs that tree's code on the same simulated records (fixed seed, same
size); the runs alternate (A B A B ...) so a change of the machine's load hits both. Beside each
run's rates, the worker's CPU time per 1,000 events is measured here the same way for both
trees (the worker found among the benchmark's processes, its ``/proc`` CPU time sampled with
its consumed counter): it moves much less with the load than a rate does.

    git worktree add --detach /tmp/old c1c41df
    .venv/bin/python -m bench.compare_commits /tmp/old . --events 30000 --rounds 2

The dependencies are this virtualenv's for both trees.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import cpu_seconds
from kam.localkafka import local_kafka
from kam.processes import scrape_metric

WORKER = re.compile(r"(bin/kam|kam\.cli) worker")
CONSUMED = "kam_worker_events_consumed_total"


@dataclass(frozen=True, slots=True)
class Side:
    tree: Path
    load_before: str
    load_after: str
    line: str
    """The benchmark's ``worker: ...`` line (or the end of its output when it failed)."""
    cpu_per_thousand: float | None


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    children = [int(child) for child in found.stdout.split()]
    return children + [grand for child in children for grand in _children(child)]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _metrics_port(pid: int) -> int:
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return int(next(e for e in env if e.startswith(b"KAM_METRICS_PORT=")).split(b"=", 1)[1])


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_tree(tree: Path, *, bootstrap: str, events: int) -> Side:
    """One ``bench.bench_worker`` of ``tree``, watching its worker's CPU time."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PYTHONPATH": str(tree)}
    before = _load()
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_worker", "--events", str(events)],
        cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker: int | None = None
    port = 0
    first = last = None
    while bench.poll() is None:
        try:
            if worker is None:
                worker = next((p for p in _children(bench.pid) if WORKER.search(_command(p))), None)
                port = _metrics_port(worker) if worker else 0
            elif last is None or last[0] < events:
                cpu = cpu_seconds(worker)
                consumed = scrape_metric(port, CONSUMED)
                if consumed > 0:
                    first = first or (consumed, cpu)
                    last = (consumed, cpu)
        except (OSError, StopIteration):
            pass  # the worker is starting or has stopped
        time.sleep(0.1)
    output = bench.stdout.read() if bench.stdout else ""
    line = next((x for x in output.splitlines() if x.startswith("worker:")), output[-2000:])
    cpu_k = None
    if first and last and last[0] > first[0]:
        cpu_k = (last[1] - first[1]) / (last[0] - first[0]) * 1000
    return Side(tree, before, _load(), line, cpu_k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a source tree (e.g. a worktree of the old commit)")
    parser.add_argument("b", type=Path, help="the other tree")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with local_kafka() as bootstrap:
        for _ in range(args.rounds):
            for tree in (args.a, args.b):
                side = run_tree(tree.resolve(), bootstrap=bootstrap, events=args.events)
                rates = re.search(r"consumed ([\d,]+)/s, enriched ([\d,]+)/s", side.line)
                cpu = f"{side.cpu_per_thousand:.2f}" if side.cpu_per_thousand else "-"
                print(
                    f"{side.tree}: load {side.load_before} -> {side.load_after}; "
                    + (f"consumed {rates[1]}/s, enriched {rates[2]}/s" if rates else side.line)
                    + f"; worker CPU {cpu} s per 1k events",
                    flush=True,
                )


if __name__ == "__main__":
    main()
