"""The sink process: a confluent-kafka consumer feeding :class:`ClickHouseWriter`.

Offsets are committed (synchronously) only after ClickHouse accepted a batch. While ClickHouse
is unavailable the batch is retried with backoff and the partitions are paused: nothing is
lost, and tokens make the retries exactly-once. In chdb mode the process also serves read-only
SQL for other processes (:mod:`sinks.query_endpoint`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
)
from confluent_kafka import TopicPartition as KafkaTopicPartition
from prometheus_client import start_http_server

from kam.settings import (
    ClickHouseSettings,
    KafkaSettings,
    MetricsSettings,
    SinkSettings,
    TopicSettings,
)
from schemas.origins import header_origin
from sinks import metrics
from sinks.access import open_backend, open_chdb
from sinks.backend import ClickHouseBackend
from sinks.batching import Batch, TopicPartition
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.exceptions import ClickHouseError, ClickHouseUnavailable
from sinks.migrate import DdlTarget, apply_migrations, set_health_window
from sinks.query_endpoint import QueryEndpoint, endpoint_file
from sinks.rows import SourceMessage, TopicKind

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sink_routes(topics: TopicSettings) -> dict[str, TopicKind]:
    """Which converter each consumed topic goes through."""
    return {
        topics.enriched: "enriched",
        topics.deadletter: "deadletter",
        topics.alerts: "alerts",
        topics.accounts: "accounts",
        topics.kpis: "kpis",
        topics.undeliverable: "undeliverable",
    }


def source_message(message: Message) -> SourceMessage:
    """The parts of a confluent-kafka message the sink keeps."""
    kind, millis = message.timestamp()
    moment = (
        EPOCH if kind == TIMESTAMP_NOT_AVAILABLE else datetime.fromtimestamp(millis / 1000, UTC)
    )
    return SourceMessage(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        value=message.value(),
        timestamp=moment,
        origin=header_origin(message.headers()),
    )


class SinkLoop:
    """Consume, batch, write, commit; one thread, partitions written in offset order."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        writer: ClickHouseWriter,
        settings: SinkSettings,
        stop: threading.Event,
    ) -> None:
        self._consumer = consumer
        self._writer = writer
        self._settings = settings
        self._assigned: set[TopicPartition] = set()
        self._abandoned: set[TopicPartition] = set()
        self._ready: deque[Batch[SourceMessage]] = deque()
        self._stop = stop

    # --- rebalance callbacks (run inside consume/poll) -------------------------------------
    def on_assign(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=30)
        for kafka_tp in committed:
            tp = TopicPartition(kafka_tp.topic, kafka_tp.partition)
            self._writer.forget([tp])
            self._writer.replay_cuts(tp, self._recorded_cuts(tp, max(kafka_tp.offset, 0)))
            self._assigned.add(tp)
            self._abandoned.discard(tp)
        log.info("assigned %s", sorted(self._assigned))

    def _recorded_cuts(self, tp: TopicPartition, committed: int) -> list[int]:
        delay = self._settings.retry_initial_seconds
        while True:
            try:
                return self._writer.recorded_cuts(tp, committed)
            except ClickHouseUnavailable as exc:
                if self._stop.is_set():
                    raise
                log.warning("ClickHouse unavailable reading batch records (%s)", exc.code)
                self._stop.wait(delay)
                delay = min(delay * 2, self._settings.retry_max_seconds)

    def on_revoke(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        revoked = [TopicPartition(p.topic, p.partition) for p in partitions]
        for batch in self._writer.drain(revoked):
            self._write_and_commit(batch, retry=False)
        self._drop(revoked)

    def on_lost(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        self._drop([TopicPartition(p.topic, p.partition) for p in partitions])

    def _drop(self, partitions: list[TopicPartition]) -> None:
        self._writer.forget(partitions)
        self._assigned.difference_update(partitions)
        self._ready = deque(b for b in self._ready if (b.topic, b.partition) not in partitions)

    # --- main loop -------------------------------------------------------------------------
    def run(self) -> None:
        stop = self._stop
        while not stop.is_set():
            for message in self._consumer.consume(num_messages=1000, timeout=0.2):
                self._accept(message)
            self._ready.extend(self._writer.due(now=time.monotonic()))
            self._write_ready()
        self._ready.extend(self._writer.drain())
        self._write_ready()

    def _accept(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error: %s", error.str())
            return
        tp = TopicPartition(message.topic() or "", message.partition() or 0)
        if tp not in self._assigned:
            return
        metrics.MESSAGES_READ.labels(topic=tp.topic).inc()
        offset = message.offset() or 0
        self._ready.extend(
            self._writer.add(tp, offset, source_message(message), now=time.monotonic())
        )

    def _write_ready(self) -> None:
        while self._ready:
            self._write_and_commit(self._ready.popleft(), retry=True)

    def _write_and_commit(self, batch: Batch[SourceMessage], *, retry: bool) -> None:
        tp = TopicPartition(batch.topic, batch.partition)
        delay = self._settings.retry_initial_seconds
        paused: list[KafkaTopicPartition] = []
        try:
            while True:
                if tp in self._abandoned or tp not in self._assigned:
                    return
                try:
                    self._writer.write(batch)
                    break
                except ClickHouseUnavailable as exc:
                    metrics.RETRIES.inc()
                    log.warning("ClickHouse unavailable (%s); retrying %s", exc.code, batch.key)
                    if not retry or self._stop.is_set():
                        self._abandon(tp)  # not committed: re-read by whoever owns it next
                        return
                    if not paused:
                        paused = self._consumer.assignment()
                        self._consumer.pause(paused)
                        metrics.PAUSED.set(1)
                    wait = min(max(exc.retry_after, delay), self._settings.retry_max_seconds)
                    delay = min(delay * 2, self._settings.retry_max_seconds)
                    self._wait(wait)
        finally:
            if paused:
                self._consumer.resume(paused)
                metrics.PAUSED.set(0)
        self._commit(batch)

    def _abandon(self, tp: TopicPartition) -> None:
        self._abandoned.add(tp)
        self._writer.forget([tp])

    def _wait(self, seconds: float) -> None:
        """Sleep while staying in the group; messages fetched before the pause are kept."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            message = self._consumer.poll(min(left, 0.2))
            if message is not None:
                self._accept(message)

    def _commit(self, batch: Batch[SourceMessage]) -> None:
        kafka_tp = KafkaTopicPartition(batch.topic, batch.partition, batch.last_offset + 1)
        try:
            self._consumer.commit(offsets=[kafka_tp], asynchronous=False)
        except KafkaException as exc:  # the batch is stored; a replay is deduplicated
            log.warning("commit of %s failed: %s", batch.key, exc)
            return
        _, high = self._consumer.get_watermark_offsets(kafka_tp, cached=True)
        if high >= 0:
            metrics.CONSUMER_LAG.labels(topic=batch.topic, partition=str(batch.partition)).set(
                max(high - batch.last_offset - 1, 0)
            )


def _wait_for_server(
    clickhouse: ClickHouseSettings, sink: SinkSettings, stop: threading.Event
) -> ClickHouseBackend | None:
    """Connect to the ClickHouse server, retrying with backoff while it is unavailable."""
    delay = sink.retry_initial_seconds
    while not stop.is_set():
        try:
            return open_backend(clickhouse)
        except ClickHouseUnavailable as exc:
            log.warning("ClickHouse unavailable at start (%s); retrying in %.1fs", exc, delay)
            stop.wait(delay)
            delay = min(delay * 2, sink.retry_max_seconds)
    return None


def run_sink(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    clickhouse: ClickHouseSettings,
    group_id: str,
    stop: threading.Event | None = None,
    sink: SinkSettings | None = None,
    metrics_settings: MetricsSettings | None = None,
    backend: ClickHouseBackend | None = None,
) -> None:
    """Run the ClickHouse sink until ``stop`` is set (forever without one).

    ``backend`` replaces the one built from ``clickhouse`` (it is then not closed here). In chdb
    mode the read-only SQL endpoint runs for the lifetime of the sink.
    """
    sink = sink or SinkSettings()
    stop = stop or threading.Event()
    embedded = open_chdb(clickhouse) if backend is None and clickhouse.backend == "chdb" else None
    store = backend or embedded or _wait_for_server(clickhouse, sink, stop)
    if store is None:
        return
    endpoint: QueryEndpoint | None = None
    consumer: Consumer | None = None
    try:
        apply_migrations(store, target=DdlTarget.from_settings(clickhouse))
        set_health_window(store, sink.health_window)
        if metrics_settings and metrics_settings.port:
            start_http_server(metrics_settings.port, addr=metrics_settings.host)
        if embedded is not None:
            endpoint = QueryEndpoint(
                store=embedded.reader(),
                port=sink.query_port,
                announce=endpoint_file(clickhouse.chdb_path),
            )
            endpoint.start()
        routes = sink_routes(topics)
        writer = ClickHouseWriter(
            backend=store,
            routes=routes,
            group_id=group_id,
            max_rows=sink.batch_max_rows,
            max_seconds=sink.batch_max_seconds,
        )
        consumer = Consumer(
            {
                **kafka.confluent_config(),
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": sink.session_timeout_ms,
            }
        )
        loop = SinkLoop(consumer=consumer, writer=writer, settings=sink, stop=stop)
        consumer.subscribe(
            list(routes), on_assign=loop.on_assign, on_revoke=loop.on_revoke, on_lost=loop.on_lost
        )
        loop.run()
    except ClickHouseError:
        log.exception("the sink stopped: ClickHouse refused work it cannot retry")
        raise
    finally:
        if consumer is not None:
            consumer.close()
        if endpoint is not None:
            endpoint.stop()
        if backend is None:
            store.close()
