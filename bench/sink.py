"""Run ``bench/bench_sink.py`` (ClickHouse writer vs one bulk insert) and read its rates.

It runs as a child process: chdb keeps one data directory per process, and its memory stays out
of the other benchmarks' process. A ClickHouse server is benched too when ``CLICKHOUSE_HOST``
is set (the child reads the same ``CLICKHOUSE_*`` settings).
"""

from __future__ import annotations

import re
import subprocess
import sys

from bench.common import REPO, BenchError, Result

LINE = r"^{name} \[(?P<engine>[^\]]+)\].*?:\s*(?P<rate>[\d,]+) rows/s"


def rates(output: str, name: str) -> dict[str, float]:
    """Rows/s per engine label of the lines starting with ``name``."""
    found = re.finditer(LINE.format(name=re.escape(name)), output, re.MULTILINE)
    return {match["engine"]: float(match["rate"].replace(",", "")) for match in found}


def run(*, rows: int = 50_000, batch: int = 10_000) -> list[Result]:
    """Writer path and bulk insert rates of the same rows, per engine, from one run."""
    command = [sys.executable, "-m", "bench.bench_sink", "--rows", str(rows), "--batch", str(batch)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )
    writer, bulk = rates(done.stdout, "writer path"), rates(done.stdout, "single bulk insert")
    if done.returncode != 0 or "chdb" not in writer or writer.keys() != bulk.keys():
        raise BenchError(f"bench_sink failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print("sink: " + " / ".join(done.stdout.strip().splitlines()), flush=True)
    return [
        Result(
            metric="ClickHouse writer (rows/s)" if engine == "chdb"
            else f"ClickHouse writer, {engine} (rows/s)",
            measured=rate,
            unit="/s",
            baseline=bulk[engine],
            target=0.5,
        )
        for engine, rate in writer.items()
    ]  # fmt: skip
