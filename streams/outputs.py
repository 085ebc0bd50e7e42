"""The worker's output producer: librdkafka batches a whole batch's records, then waits once.

Faust's own producer sends record by record through asyncio; the worker's outputs (enriched
touchpoints, dead letters, alerts, KPI updates) go through one idempotent confluent-kafka
producer instead, with the SDK's settings (acks=all, murmur2 keys) and no delivery timeout:
librdkafka retries what the broker cannot take yet (an outage, a leader election) for as long
as it takes, in order, so a batch waits out an outage instead of failing. A record the broker
refuses for good (too large, invalid) is handed back to the caller, which dead-letters it: no
output can stop a partition, and nothing is retried forever that can never succeed.

The same producer writes the state table's changelog a batch at a time
(:meth:`OutputProducer.write_changelog`, records from :meth:`streams.tables.BatchTable.apply`):
librdkafka batches them in its own threads where Faust's producer takes a future, tasks and a
socket write on the event loop per record. A changelog record refused for good raises
:class:`ChangelogRefusedError`: a batch whose state is not durable must not send its outputs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kam.settings import KafkaSettings
from producers.publisher import PublisherOptions, producer_config
from schemas.origins import ORIGIN_HEADER, Origin
from streams.tables import ChangelogRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record to produce, with the origin that identifies it to consumers."""

    topic: str
    key: bytes | None
    value: bytes
    origin: Origin


@dataclass(frozen=True, slots=True)
class Refused:
    """An output the broker refused for good, and why."""

    record: OutputRecord
    reason: str


def _reason(error: KafkaError) -> str:
    return f"{error.name()}: {error.str()}"


@dataclass(slots=True)
class _Delivery:
    refused: list[Refused] = field(default_factory=list)

    def callback(self, record: OutputRecord) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                self.refused.append(Refused(record, _reason(error)))

        return on_delivery


class ChangelogRefusedError(Exception):
    """The broker refused a changelog record for good: the batch's state is not durable."""


class OutputProducer:
    def __init__(self, *, kafka: KafkaSettings, wait_log_seconds: float = 10.0) -> None:
        options = PublisherOptions(client_id="kam-worker", linger_ms=2, delivery_timeout_ms=0)
        self._producer = Producer(producer_config(kafka, options))
        self._wait_log_seconds = wait_log_seconds

    def _deliver(self, records: list[OutputRecord]) -> list[Refused]:
        delivery = _Delivery()
        for record in records:
            error = self._produce(
                record.topic,
                value=record.value,
                key=record.key,
                headers=[(ORIGIN_HEADER, record.origin.encode())],
                on_delivery=delivery.callback(record),
            )
            if error is not None:
                delivery.refused.append(Refused(record, error))
        self._wait()
        return delivery.refused

    def _deliver_changelog(self, records: Sequence[ChangelogRecord]) -> list[str]:
        failed: list[str] = []

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failed.append(f"{message.topic()}[{message.partition()}]: {_reason(error)}")

        for record in records:
            error = self._produce(
                record.topic,
                value=record.value,
                key=record.key,
                partition=record.partition,
                on_delivery=on_delivery,
            )
            if error is not None:
                failed.append(f"{record.topic}[{record.partition}]: {error}")
        self._wait()
        return failed

    def _wait(self) -> None:
        while (remaining := self._producer.flush(self._wait_log_seconds)) > 0:
            log.warning("%d output records not yet acknowledged; still waiting", remaining)

    def _produce(self, topic: str, **record: Any) -> str | None:
        """Produce one record (waiting while the local queue is full); the reason when it is
        refused before it is sent, e.g. MSG_SIZE_TOO_LARGE."""
        while True:
            try:
                self._producer.produce(topic, **record)
                return None
            except BufferError:  # local queue full: let librdkafka drain some first
                self._producer.poll(0.1)
            except KafkaException as exc:
                return _reason(exc.args[0])

    async def write_changelog(self, records: Sequence[ChangelogRecord]) -> None:
        """Produce every changelog record to its partition and wait until the broker has each;
        raises :class:`ChangelogRefusedError` when it refused any for good."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        failed = await loop.run_in_executor(None, self._deliver_changelog, records)
        if failed:
            first = failed[0]
            raise ChangelogRefusedError(f"{len(failed)} changelog records refused, first {first}")

    async def send(self, records: list[OutputRecord]) -> list[Refused]:
        """Produce every record and wait until the broker has each one or refused it for good;
        returns the refused ones."""
        if not records:
            return []
        return await asyncio.get_running_loop().run_in_executor(None, self._deliver, records)

    def close(self) -> None:
        self._producer.flush(self._wait_log_seconds)
