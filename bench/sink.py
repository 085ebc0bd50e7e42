"""Run ``bench/bench_sink.py`` (ClickHouse writer vs one bulk insert) and read its two rates.

It runs as a child process: chdb keeps one data directory per process, and its memory stays out
of the other benchmarks' process.
"""

from __future__ import annotations

import re
import subprocess
import sys

from bench.common import REPO, BenchError, Result

RATE = r":\s*([\d,]+) rows/s"


def run(*, rows: int = 50_000, batch: int = 10_000) -> list[Result]:
    """Writer path and bulk insert rates of the same rows, from one run of the sink benchmark."""
    command = [sys.executable, "-m", "bench.bench_sink", "--rows", str(rows), "--batch", str(batch)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    writer = re.search(r"^writer path.*?" + RATE, done.stdout, re.MULTILINE)
    bulk = re.search(r"^single bulk insert.*?" + RATE, done.stdout, re.MULTILINE)
    if done.returncode != 0 or writer is None or bulk is None:
        raise BenchError(f"bench_sink failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(f"sink: {rows} rows; " + " / ".join(done.stdout.strip().splitlines()[1:3]), flush=True)
    return [
        Result(
            metric="ClickHouse writer (rows/s)",
            measured=float(writer.group(1).replace(",", "")),
            unit="/s",
            baseline=float(bulk.group(1).replace(",", "")),
            target=0.5,
        )
    ]
