"""The ClickHouse sink end to end: real broker, real chdb, exact rows, retries and outages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition

from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.settings import ClickHouseSettings, KafkaSettings, SinkSettings, TopicSettings
from sinks import metrics, run_sink, run_sql
from sinks.backend import ClickHouseBackend, QueryResult
from sinks.chdb_backend import ChdbBackend
from sinks.exceptions import ClickHouseError, ClickHouseUnavailable
from sinks.migrate import apply_migrations
from tests.unit.sinks.samples import alert_json, dead_letter_json, enriched_json

pytestmark = pytest.mark.integration

FAST = SinkSettings(
    batch_max_rows=4, batch_max_seconds=0.2, retry_initial_seconds=0.05, retry_max_seconds=0.2
)


def fresh_topics(kafka: KafkaSettings, unique_name: Callable[[str], str]) -> TopicSettings:
    topics = TopicSettings(
        touchpoints=unique_name("tp"),
        accounts=unique_name("acc"),
        enriched=unique_name("enr"),
        deadletter=unique_name("dlq"),
        alerts=unique_name("alr"),
        partitions=2,
    )
    ensure_topics(kafka, pipeline_topics(topics))
    return topics


def publish(kafka: KafkaSettings, topic: str, values: Sequence[bytes], *, key: str = "") -> None:
    """Produce values in order; the same key keeps them on one partition."""
    producer = Producer(kafka.confluent_config())
    for index, value in enumerate(values):
        producer.produce(topic, key=key or f"k{index}", value=value)
    assert producer.flush(30) == 0


def wait_until(condition: Callable[[], bool], *, attempts: int = 600, pause: float = 0.1) -> None:
    """Poll ``condition`` a bounded number of times; fail the test if it never holds."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(pause)
    raise AssertionError("condition not reached")


class SinkThread:
    """``run_sink`` in a thread with a stop event; re-raises its error on stop."""

    def __init__(self, **kwargs: Any) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, kwargs=kwargs, daemon=True)
        self._thread.start()

    def _run(self, **kwargs: Any) -> None:
        try:
            run_sink(stop=self.stop_event, **kwargs)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error


def count(store: ClickHouseBackend, sql: str) -> int:
    return int(store.query(sql).rows[0][0])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChdbBackend]:
    backend = ChdbBackend(path=tmp_path / "chdb", database="kam")
    apply_migrations(backend)
    yield backend
    backend.close()


def committed(kafka: KafkaSettings, group: str, topic: str, partitions: int) -> list[int]:
    consumer = Consumer({**kafka.confluent_config(), "group.id": group})
    try:
        wanted = [KafkaTopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(wanted, timeout=30)]
    finally:
        consumer.close()


def test_every_topic_lands_exactly(
    kafka_settings: KafkaSettings,
    unique_name: Callable[[str], str],
    store: ChdbBackend,
    tmp_path: Path,
) -> None:
    topics = fresh_topics(kafka_settings, unique_name)
    enriched = [enriched_json(f"ev-{i}", bad=i < 2) for i in range(6)]
    enriched[3] = enriched_json("ev-3", tier="platinum")
    enriched[5] = b"\x00garbage"
    publish(kafka_settings, topics.enriched, enriched, key="acme")
    publish(kafka_settings, topics.deadletter, [dead_letter_json()])
    publish(kafka_settings, topics.alerts, [alert_json("firing")], key="acme")
    publish(
        kafka_settings,
        topics.accounts,
        [b'{"account_id": "acme", "name": "Acme", "tier": "strategic", "criteria": {"g": 1}}'],
        key="acme",
    )
    group = unique_name("sink")
    ingested = metrics.ROWS_WRITTEN.labels(table="touchpoints_ingest")
    ingested_before = ingested._value.get()
    sink = SinkThread(
        kafka=kafka_settings,
        topics=topics,
        clickhouse=ClickHouseSettings(chdb_path=tmp_path / "unused"),
        group_id=group,
        sink=FAST,
        backend=store,
    )
    try:
        wait_until(lambda: count(store, "SELECT count() FROM failed_events") == 3)
        wait_until(lambda: count(store, "SELECT count() FROM accounts") == 1)
        wait_until(lambda: count(store, "SELECT count() FROM alerts") == 1)
    finally:
        sink.stop()
    assert store.query(
        "SELECT event_id, bad_experience FROM touchpoints ORDER BY event_id"
    ).rows == [
        ["ev-0", "late and short delivery"],
        ["ev-1", "late and short delivery"],
        ["ev-2", None],
        ["ev-4", None],
    ]
    assert store.query(
        "SELECT failure_type, field_path, base64Decode(original) FROM failed_events"
        " ORDER BY failure_type, source_offset"
    ).rows == [
        ["not_json", None, "{oops"],
        ["sink_rejected", "account.tier", enriched[3].decode()],
        ["sink_undecodable", None, "\x00garbage"],
    ]
    assert store.query("SELECT alert_key, status FROM alerts").rows == [
        ["acme:logistics:otif_low", "firing"]
    ]
    assert store.query("SELECT tier, attributes FROM account_tier_history").rows == [
        ["strategic", '{"criteria":{"g":1}}']
    ]
    assert sum(max(o, 0) for o in committed(kafka_settings, group, topics.enriched, 2)) == 6
    assert ingested._value.get() - ingested_before == 6


def test_replay_after_lost_commits_adds_no_duplicates(
    kafka_settings: KafkaSettings,
    unique_name: Callable[[str], str],
    store: ChdbBackend,
    tmp_path: Path,
) -> None:
    """Offsets rewound to 0 (commits lost): the same batches are re-cut and deduplicated."""
    topics = fresh_topics(kafka_settings, unique_name)
    publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(30)])
    group = unique_name("sink")
    settings = {
        "kafka": kafka_settings,
        "topics": topics,
        "clickhouse": ClickHouseSettings(chdb_path=tmp_path / "unused"),
        "group_id": group,
        "backend": store,
    }
    first = SinkThread(sink=FAST, **settings)
    try:
        wait_until(lambda: count(store, "SELECT count() FROM touchpoints") == 30)
    finally:
        first.stop()
    batches = count(store, "SELECT count() FROM sink_batches")
    rewind = Consumer({**kafka_settings.confluent_config(), "group.id": group})
    rewind.commit(
        offsets=[KafkaTopicPartition(topics.enriched, p, 0) for p in range(2)], asynchronous=False
    )
    rewind.close()
    # size cuts recur at the same offsets, time cuts at the recorded ones
    again = SinkThread(sink=FAST, **settings)
    try:
        wait_until(lambda: sum(committed(kafka_settings, group, topics.enriched, 2)) == 30)
    finally:
        again.stop()
    assert count(store, "SELECT count() FROM touchpoints") == 30
    assert count(store, "SELECT uniqExact(event_id) FROM touchpoints") == 30
    assert count(store, "SELECT sum(events) FROM touchpoints_daily") == 30
    assert count(store, "SELECT count() FROM sink_batches") == batches


class Outage:
    """The real chdb store, unavailable for a stretch of insert calls (this test only)."""

    def __init__(self, inner: ChdbBackend, *, healthy_inserts: int, failing_inserts: int) -> None:
        self.inner = inner
        self.database = inner.database
        self.calls = 0
        self.failures = 0
        self._healthy = healthy_inserts
        self._failing = failing_inserts

    def _fail_some(self) -> None:
        self.calls += 1
        if self._healthy < self.calls <= self._healthy + self._failing:
            self.failures += 1
            raise ClickHouseUnavailable("ClickHouse down for maintenance", code=210, retry_after=0)

    def insert(self, table: str, columns: Any, rows: Any, *, dedup_token: str | None) -> None:
        self._fail_some()
        self.inner.insert(table, columns, rows, dedup_token=dedup_token)

    def insert_columns(
        self, table: str, columns: Any, data: Any, *, dedup_token: str | None
    ) -> None:
        self._fail_some()
        self.inner.insert_columns(table, columns, data, dedup_token=dedup_token)

    def command(self, sql: str) -> None:
        self.inner.command(sql)

    def query(self, sql: str) -> QueryResult:
        return self.inner.query(sql)

    def raw(self, sql: str, *, fmt: str) -> str:
        return self.inner.raw(sql, fmt=fmt)

    def close(self) -> None:  # the test closes the real store
        return None


def test_outage_loses_nothing_and_duplicates_nothing(
    kafka_settings: KafkaSettings,
    unique_name: Callable[[str], str],
    store: ChdbBackend,
    tmp_path: Path,
) -> None:
    topics = fresh_topics(kafka_settings, unique_name)
    publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(20)])
    # 20 events need at least 5 inserts: two pass, then 25 insert attempts fail
    flaky = Outage(store, healthy_inserts=2, failing_inserts=25)
    paused_before = metrics.RETRIES._value.get()
    sink = SinkThread(
        kafka=kafka_settings,
        topics=topics,
        clickhouse=ClickHouseSettings(chdb_path=tmp_path / "unused"),
        group_id=unique_name("sink"),
        sink=FAST,
        backend=flaky,
    )
    try:
        wait_until(lambda: flaky.failures == 25)
        publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(20, 40)])
        wait_until(lambda: count(store, "SELECT count() FROM touchpoints") == 40)
    finally:
        sink.stop()
    assert count(store, "SELECT uniqExact(event_id) FROM touchpoints") == 40
    assert count(store, "SELECT count() FROM touchpoints") == 40
    assert count(store, "SELECT sum(events) FROM touchpoints_daily") == 40
    assert metrics.RETRIES._value.get() - paused_before == 25


def test_embedded_mode_serves_read_only_sql(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topics = fresh_topics(kafka_settings, unique_name)
    publish(kafka_settings, topics.enriched, [enriched_json(f"ev-{i}") for i in range(3)])
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_sql")
    sink = SinkThread(
        kafka=kafka_settings,
        topics=topics,
        clickhouse=clickhouse,
        group_id=unique_name("sink"),
        sink=FAST,
    )
    try:
        wait_until((tmp_path / "chdb" / "sql-endpoint.json").exists)
        wait_until(
            lambda: run_sql(clickhouse, "SELECT count() FROM touchpoints", fmt="TSV") == "3\n"
        )
        ids = run_sql(clickhouse, "SELECT event_id FROM touchpoints ORDER BY event_id", fmt="TSV")
        assert ids == "ev-0\nev-1\nev-2\n"
        pretty = run_sql(clickhouse, "SELECT event_id FROM touchpoints WHERE event_id = 'ev-1'")
        assert "event_id" in pretty and "ev-1" in pretty
        with pytest.raises(ClickHouseError) as refused:
            run_sql(clickhouse, "TRUNCATE TABLE touchpoints")
        assert refused.value.code == 164  # READONLY
    finally:
        sink.stop()
    assert not (tmp_path / "chdb" / "sql-endpoint.json").exists()
    # no sink running: kam sql opens the directory itself
    assert run_sql(clickhouse, "SELECT count() FROM touchpoints", fmt="TSV") == "3\n"
