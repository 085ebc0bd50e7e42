"""The notifier process: consume alert states, notify receivers, commit after delivery.

At-least-once: an alert's offset is committed only once every notification holding it was
delivered or recorded on the undeliverable topic. After a restart, uncommitted alerts are read
again and re-sent with the same dedup keys. It is its own consumer group and process, so slow
receivers never hold up the stream processors.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaMessage
from confluent_kafka import TopicPartition as KafkaPartition
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from pydantic import ValidationError

from kam.kafka_admin import ensure_topics
from kam.settings import KafkaSettings, MetricsSettings, TopicSettings
from schemas.alerts import Alert
from sinks.notify.config import RoutingConfig, load_routing_config
from sinks.notify.delivery import DeliveryResult, deliver
from sinks.notify.dispatcher import Dispatcher
from sinks.notify.exceptions import NotifyError
from sinks.notify.grouping import Batch, MessageRef
from sinks.notify.metrics import NotifierMetrics, notifier_metrics
from sinks.notify.offsets import OffsetTracker
from sinks.notify.receivers import Receiver, build_receivers
from sinks.notify.records import undeliverable_record
from sinks.notify.render import render_batch
from sinks.notify.snooze import Snooze
from sinks.notify.topics import notifier_topics

log = logging.getLogger(__name__)

CONSUME_BATCH = 500
SNOOZE_LOAD_TIMEOUT = 30.0
PRODUCE_TIMEOUT = 30.0


def run_notifier(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    config_path: Path,
    group_id: str,
    stop: threading.Event | None = None,
    registry: CollectorRegistry | None = None,
    metrics_settings: MetricsSettings | None = None,
    poll_seconds: float = 0.5,
    board_url: str | None = None,
) -> None:
    """Run until ``stop`` is set (forever without one). Blocks the calling thread.

    Metrics go to ``registry`` (default: the global one), served over HTTP when
    ``metrics_settings.port`` is set. Secrets come from the environment named in the config.
    With ``board_url`` (the board's base URL) every notification links to the account's page.
    """
    config = load_routing_config(config_path)
    ensure_topics(kafka, notifier_topics(topics))
    server = None
    if metrics_settings and metrics_settings.port:
        server, _ = start_http_server(
            metrics_settings.port, addr=metrics_settings.host, registry=registry or REGISTRY
        )
    notifier = _Notifier(kafka=kafka, topics=topics, config=config, group_id=group_id,
                         metrics=notifier_metrics(registry), poll_seconds=poll_seconds,
                         board_url=board_url)
    try:
        asyncio.run(notifier.run(stop or threading.Event()))
    finally:
        notifier.close()
        if server is not None:
            server.shutdown()
            server.server_close()


class _Notifier:
    def __init__(
        self, *, kafka: KafkaSettings, topics: TopicSettings, config: RoutingConfig,
        group_id: str, metrics: NotifierMetrics, poll_seconds: float, board_url: str | None,
    ) -> None:
        self._topics = topics
        self._board_url = board_url
        self._config = config
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._dispatcher = Dispatcher(config=config)
        self._tracker = OffsetTracker()
        base = kafka.confluent_config()
        self._consumer = Consumer({**base, "group.id": group_id, "enable.auto.commit": False,
                                   "auto.offset.reset": "earliest"})
        self._snoozes = Consumer({**base, "group.id": f"{group_id}.snoozes",
                                  "enable.auto.commit": False})
        self._producer = Producer({**base, "enable.idempotence": True})
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kam-notify-kafka")
        self._receivers: dict[str, Receiver] = {}

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self, stop: threading.Event) -> None:
        self._load_snoozes()
        self._consumer.subscribe([self._topics.alerts], on_revoke=self._on_revoke)
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            self._receivers = build_receivers(self._config, session=session)
            while not stop.is_set():
                self._poll_snoozes(timeout=0)
                messages = await loop.run_in_executor(
                    self._io, self._consumer.consume, CONSUME_BATCH, self._wait_seconds()
                )
                self._ingest(messages, datetime.now(UTC))
                batches = self._dispatcher.due(datetime.now(UTC))
                if batches:
                    await self._deliver_all(batches, stop)
                self._metrics.open_groups.set(self._dispatcher.open_groups)
                await loop.run_in_executor(self._io, self._commit)

    def close(self) -> None:
        self._consumer.close()
        self._snoozes.close()
        self._producer.flush(PRODUCE_TIMEOUT)
        self._producer.close()
        self._io.shutdown(wait=True)

    def _wait_seconds(self) -> float:
        due = self._dispatcher.next_due()
        if due is None:
            return self._poll_seconds
        until_due = (due - datetime.now(UTC)).total_seconds()
        return max(0.0, min(self._poll_seconds, until_due))

    # --- snoozes ---------------------------------------------------------------------------
    def _load_snoozes(self) -> None:
        """Read the whole snoozes topic before the first alert, so restarts honour snoozes."""
        metadata = self._snoozes.list_topics(self._topics.snoozes, timeout=SNOOZE_LOAD_TIMEOUT)
        partitions = sorted(metadata.topics[self._topics.snoozes].partitions)
        ends: dict[int, int] = {}
        for p in partitions:
            low, high = self._snoozes.get_watermark_offsets(
                KafkaPartition(self._topics.snoozes, p), timeout=SNOOZE_LOAD_TIMEOUT
            )
            if high > low:
                ends[p] = high
        assigned = [KafkaPartition(self._topics.snoozes, p, OFFSET_BEGINNING) for p in partitions]
        self._snoozes.assign(assigned)
        deadline = time.monotonic() + SNOOZE_LOAD_TIMEOUT
        while ends and any(
            tp.offset < ends[tp.partition]
            for tp in self._snoozes.position(assigned)
            if tp.partition in ends
        ):
            if time.monotonic() > deadline:
                raise NotifyError(f"snoozes topic {self._topics.snoozes} not read in time")
            self._poll_snoozes(timeout=0.5)
        log.info("loaded %d snoozes", len(self._dispatcher.snoozes))

    def _poll_snoozes(self, *, timeout: float) -> None:
        messages = [m for m in self._snoozes.consume(CONSUME_BATCH, timeout) if not m.error()]
        for message in messages:
            key = (message.key() or b"").decode("utf-8", "replace")
            value = message.value()
            try:
                snooze = None if value is None else Snooze.model_validate_json(value)
            except ValidationError:
                log.warning("skipping invalid snooze record at offset %d", message.offset())
                continue
            self._dispatcher.snoozes.apply(key, snooze)
        self._metrics.snoozes.set(len(self._dispatcher.snoozes))

    # --- alerts ----------------------------------------------------------------------------
    def _ingest(self, messages: list[KafkaMessage], now: datetime) -> None:
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal():
                    raise NotifyError(f"alerts consumer failed: {error.str()}")
                log.warning("alerts consumer: %s", error.str())
                continue
            # a message without an error always has its topic, partition and offset
            ref = MessageRef(message.topic() or "", message.partition() or 0, message.offset() or 0)
            try:
                alert = Alert.model_validate_json(message.value() or b"")
            except ValidationError:
                log.warning("skipping invalid alert at %s", ref)
                self._metrics.alert_states.labels("invalid").inc()
                self._tracker.track(ref, holds=0)
                continue
            decision = self._dispatcher.offer(alert, now=now, ref=ref)
            self._metrics.alert_states.labels(decision.outcome).inc()
            self._tracker.track(ref, holds=len(decision.targets))

    async def _deliver_all(self, batches: list[Batch], stop: threading.Event) -> None:
        async def sleep(seconds: float) -> bool:
            deadline = time.monotonic() + seconds
            while not stop.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            return not stop.is_set()

        results = await asyncio.gather(*(
            deliver(self._receivers[batch.receiver], batch,
                    render_batch(batch, self._config, board_url=self._board_url),
                    policy=self._config.delivery, sleep=sleep)
            for batch in batches
        ))
        undeliverable = [result for result in results if result.undeliverable]
        if undeliverable:
            await asyncio.get_running_loop().run_in_executor(
                self._io, self._record_undeliverable, undeliverable
            )
        for result in results:
            self._account(result)
            if result.outcome != "abandoned":
                for ref in result.batch.refs:
                    self._tracker.release(ref)

    def _account(self, result: DeliveryResult) -> None:
        metrics, receiver = self._metrics, result.receiver
        if result.outcome == "abandoned":
            return
        metrics.notifications.labels(receiver, result.outcome).inc()
        metrics.retries.labels(receiver).inc(result.attempts - 1)
        if result.outcome == "delivered":
            metrics.delivery_seconds.labels(receiver).observe(result.seconds)
            for alert in result.batch.alerts:
                metrics.alerts_notified.labels(receiver, alert.status.value).inc()
        else:
            metrics.undeliverable.labels(receiver, result.outcome).inc()
            log.error("notification %s to %s undeliverable after %d attempts: %s",
                      result.batch.notification_id, receiver, result.attempts, result.error)

    def _record_undeliverable(self, results: list[DeliveryResult]) -> None:
        """Publish the records and wait for the broker's acks (before committing offsets)."""
        errors: list[KafkaError] = []

        def acked(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                errors.append(error)

        for result in results:
            kind = self._receivers[result.receiver].kind
            record = undeliverable_record(result, receiver_kind=kind)
            self._producer.produce(self._topics.undeliverable, key=record.notification_id,
                                   value=record.model_dump_json(), on_delivery=acked)
        if self._producer.flush(PRODUCE_TIMEOUT) > 0 or errors:
            detail = errors[0].str() if errors else "timed out"
            raise NotifyError(f"cannot record undeliverable notifications: {detail}")

    # --- offsets ---------------------------------------------------------------------------
    def _commit(self) -> None:
        offsets = self._tracker.committable()
        if not offsets:
            return
        try:
            self._consumer.commit(
                offsets=[KafkaPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            log.warning("commit failed, retried next round: %s", exc.args[0].str())
            return
        self._tracker.committed(offsets)

    def _on_revoke(self, consumer: Consumer, partitions: list[KafkaPartition]) -> None:
        self._commit()
        self._tracker.forget([(tp.topic, tp.partition) for tp in partitions])
