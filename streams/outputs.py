"""The worker's output producer: librdkafka batches a whole batch's records, then waits once.

Faust's own producer sends record by record through asyncio; the worker's outputs (enriched
touchpoints, dead letters, alerts, KPI updates) go through one idempotent confluent-kafka
producer instead, with the SDK's settings (acks=all, murmur2 keys). :meth:`OutputProducer.send`
returns only when the broker has every record of the batch, so the state written afterwards
never covers an output that could still be lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from confluent_kafka import KafkaError, Message, Producer

from kam.errors import KamError
from kam.settings import KafkaSettings
from producers.publisher import PublisherOptions, producer_config

OutputRecord = tuple[str, bytes | None, bytes]
"""(topic, key, value)."""


class OutputDeliveryError(KamError):
    """The broker did not take an output record; the batch is not acknowledged."""


class OutputProducer:
    def __init__(self, *, kafka: KafkaSettings, flush_timeout: float = 60.0) -> None:
        options = PublisherOptions(client_id="kam-worker", linger_ms=2)
        self._producer = Producer(producer_config(kafka, options))
        self._flush_timeout = flush_timeout
        self._failures: list[str] = []

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failures.append(f"{message.topic()}: {error.name()}: {error.str()}")

    def _deliver(self, records: Iterable[OutputRecord]) -> None:
        for topic, key, value in records:
            while True:
                try:
                    self._producer.produce(
                        topic, value=value, key=key, on_delivery=self._on_delivery
                    )
                    break
                except BufferError:  # local queue full: let librdkafka drain some first
                    self._producer.poll(0.1)
        remaining = self._producer.flush(self._flush_timeout)
        failures, self._failures = self._failures, []
        if remaining or failures:
            raise OutputDeliveryError(
                f"{remaining} output records undelivered after {self._flush_timeout}s, "
                f"{len(failures)} refused: {failures[:3]}"
            )

    async def send(self, records: list[OutputRecord]) -> None:
        """Produce every record and wait until the broker acknowledged all of them."""
        if records:
            await asyncio.get_running_loop().run_in_executor(None, self._deliver, records)

    def close(self) -> None:
        self._producer.flush(self._flush_timeout)
