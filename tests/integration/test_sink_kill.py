"""SIGKILL the sink process mid-stream, restart it: every row exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kam.settings import ClickHouseSettings, KafkaSettings, TopicSettings
from sinks import run_sql
from sinks.chdb_backend import ChdbBackend
from tests.integration.test_sink_writer import committed, fresh_topics, publish, wait_until
from tests.unit.sinks.samples import enriched_json

pytestmark = pytest.mark.integration

EVENTS = 3000


def sink_process(
    kafka: KafkaSettings,
    topics: TopicSettings,
    clickhouse: ClickHouseSettings,
    group: str,
    log_path: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m sinks`` in a child process, its output in ``log_path`` (default: dropped)."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAM_TOPIC_TOUCHPOINTS": topics.touchpoints,
        "KAM_TOPIC_ACCOUNTS": topics.accounts,
        "KAM_TOPIC_ENRICHED": topics.enriched,
        "KAM_TOPIC_DEADLETTER": topics.deadletter,
        "KAM_TOPIC_ALERTS": topics.alerts,
        "KAM_TOPIC_PARTITIONS": str(topics.partitions),
        "CLICKHOUSE_CHDB_PATH": str(clickhouse.chdb_path),
        "CLICKHOUSE_DATABASE": clickhouse.database,
        "KAM_SINK_GROUP_ID": group,
        "KAM_SINK_BATCH_MAX_ROWS": "25",
        "KAM_SINK_BATCH_MAX_SECONDS": "0.2",
    }
    env.pop("CLICKHOUSE_HOST", None)
    with open(log_path or os.devnull, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sinks"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def stored(clickhouse: ClickHouseSettings) -> int:
    return int(run_sql(clickhouse, "SELECT count() FROM touchpoints", fmt="TSV"))


def test_sigkill_mid_stream_then_restart_stores_each_row_once(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topics = fresh_topics(kafka_settings, unique_name)
    publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(EVENTS)])
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_kill")
    announce = tmp_path / "chdb" / "sql-endpoint.json"
    group = unique_name("sink")

    first = sink_process(kafka_settings, topics, clickhouse, group)
    try:
        wait_until(announce.exists, attempts=600)
        wait_until(lambda: stored(clickhouse) >= 200)
        killed_at = stored(clickhouse)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert killed_at < EVENTS, "the first sink finished before the kill: raise EVENTS"
    announce.unlink(missing_ok=True)  # a killed sink cannot remove its announcement

    second = sink_process(kafka_settings, topics, clickhouse, group)
    try:
        wait_until(announce.exists, attempts=600)
        wait_until(lambda: stored(clickhouse) >= EVENTS, attempts=1200)
        wait_until(lambda: sum(committed(kafka_settings, group, topics.enriched, 2)) == EVENTS)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=60)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(timeout=30)
    assert second.returncode == 0

    store = ChdbBackend(path=clickhouse.chdb_path, database=clickhouse.database)
    try:
        assert store.query(
            "SELECT count(), uniqExact(event_id), uniqExact(source_partition, source_offset)"
            " FROM touchpoints"
        ).rows == [[EVENTS, EVENTS, EVENTS]]
        assert store.query("SELECT sum(events) FROM touchpoints_daily").rows == [[EVENTS]]
        assert store.query("SELECT count() FROM failed_events").rows == [[0]]
    finally:
        store.close()
