"""``kam sql`` after a SIGKILL of the sink that owned the chdb directory, and during its restart.

The killed sink leaves its endpoint announcement behind. ``kam sql`` must ignore it, must open
the directory itself only while no process has it, and a sink restarting while such a query
runs must wait for it and then start, announcing a new endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kam.settings import ClickHouseSettings, KafkaSettings
from sinks.access import owner_lock_path
from sinks.query_endpoint import ask_endpoint, endpoint_file
from tests.integration.test_sink_kill import sink_process
from tests.integration.test_sink_writer import fresh_topics, publish, wait_until
from tests.unit.sinks.samples import enriched_json

pytestmark = pytest.mark.integration

EVENTS = 300
SLOW_QUERY_SECONDS = 12
SLOW_QUERY = (
    f"SELECT sum(sleepEachRow(1)) FROM numbers({SLOW_QUERY_SECONDS}) SETTINGS max_block_size = 1"
)
"""Holds the directory for 12 s (chdb sleeps at most 3 s per block: one row per block)."""
COUNT = "SELECT count() FROM touchpoints"


def kam_sql(clickhouse: ClickHouseSettings, sql: str) -> subprocess.Popen[str]:
    """``kam sql <sql> --format TSV`` in a child process, in embedded mode."""
    env = {
        **os.environ,
        "CLICKHOUSE_CHDB_PATH": str(clickhouse.chdb_path),
        "CLICKHOUSE_DATABASE": clickhouse.database,
    }
    env.pop("CLICKHOUSE_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "kam.cli", "sql", sql, "--format", "TSV"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def answering(announce: Path) -> bool:
    return ask_endpoint(announce, "SELECT 1", fmt="TSV") == "1\n"


def stop(sink: subprocess.Popen[bytes]) -> int:
    sink.send_signal(signal.SIGTERM)
    try:
        return sink.wait(timeout=60)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait(timeout=30)


def test_kam_sql_never_locks_out_a_sink_restarting_after_sigkill(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topics = fresh_topics(kafka_settings, unique_name)
    publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(EVENTS)])
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_crash")
    announce = endpoint_file(clickhouse.chdb_path)
    group = unique_name("sink")

    first = sink_process(kafka_settings, topics, clickhouse, group, tmp_path / "first.log")
    try:
        wait_until(lambda: answering(announce), attempts=600)
        wait_until(lambda: ask_endpoint(announce, COUNT, fmt="TSV") == f"{EVENTS}\n")
        assert finished(kam_sql(clickhouse, COUNT)) == (0, f"{EVENTS}\n", "")  # the endpoint
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    stale = json.loads(announce.read_text())  # a killed sink cannot remove its announcement
    assert stale["pid"] == first.pid

    # Nobody has the directory: kam sql ignores the stale announcement and opens it itself.
    assert finished(kam_sql(clickhouse, COUNT)) == (0, f"{EVENTS}\n", "")
    assert not announce.exists(), "the next owner removes a dead owner's announcement"

    # A sink restarting while such a query runs waits for it, then starts.
    slow = kam_sql(clickhouse, SLOW_QUERY)
    lock = owner_lock_path(clickhouse.chdb_path)
    wait_until(lambda: lock.exists() and lock.read_text().strip() == str(slow.pid))
    second_log = tmp_path / "second.log"
    second = sink_process(kafka_settings, topics, clickhouse, group, second_log)
    try:
        code, stdout, stderr = finished(kam_sql(clickhouse, COUNT))
        assert (code, stdout) == (2, "")
        assert f"process {slow.pid} " in stderr
        assert "retry in a few seconds" in stderr
        assert finished(slow) == (0, "0\n", "")
        wait_until(lambda: answering(announce), attempts=600)
        assert f"for process {slow.pid} " in second_log.read_text(), "it waited for kam sql"
        fresh = json.loads(announce.read_text())
        assert fresh["pid"] == second.pid
        assert fresh["token"] != stale["token"]
        assert finished(kam_sql(clickhouse, COUNT)) == (0, f"{EVENTS}\n", "")
    finally:
        assert stop(second) == 0
