"""The typed producer SDK: validated touchpoints and accounts onto Kafka, keyed by account.

Records are batched by librdkafka (``linger.ms``/``batch.size``), sent idempotently
(``enable.idempotence``, ``acks=all``) and partitioned with ``murmur2_random``: the murmur2 hash
Java clients and aiokafka (hence Faust) use, so our keys land where Faust tables expect them.
A background thread serves delivery reports, so the returned futures resolve on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kam.settings import KafkaSettings, TopicSettings
from producers.exceptions import (
    DeliveryError,
    FlushTimeoutError,
    PublisherBackpressureError,
    PublisherClosedError,
)
from producers.headers import Headers, json_headers, touchpoint_headers, with_trace_id
from producers.validation import TouchpointInput, to_touchpoint
from schemas import Account, DeadLetter

log = logging.getLogger(__name__)

Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONER = "murmur2_random"


@dataclass(frozen=True, kw_only=True, slots=True)
class PublisherOptions:
    """Tuning of the underlying librdkafka producer; ``extra`` overrides any property."""

    client_id: str = "kam-publisher"
    linger_ms: int = 5
    batch_size: int = 1_000_000
    compression: Compression = "lz4"
    delivery_timeout_ms: int = 120_000
    queue_full_timeout: float = 5.0
    poll_interval: float = 0.1
    keep_failures: bool = True
    """Keep delivery failures for :meth:`TouchpointPublisher.flush`; a service that reads
    every future itself (``kam ingest``) turns it off, so that outages do not pile them up."""
    extra: Mapping[str, str | int | bool] = field(default_factory=dict)


def producer_config(kafka: KafkaSettings, options: PublisherOptions) -> dict[str, str | int | bool]:
    """librdkafka properties: connection and security from ``kafka``, delivery guarantees fixed."""
    return {
        **kafka.confluent_config(),
        "client.id": options.client_id,
        "enable.idempotence": True,
        "acks": "all",
        "retries": 2_147_483_647,
        "max.in.flight.requests.per.connection": 5,
        "linger.ms": options.linger_ms,
        "batch.size": options.batch_size,
        "compression.type": options.compression,
        "delivery.timeout.ms": options.delivery_timeout_ms,
        "partitioner": PARTITIONER,
        **options.extra,
    }


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Where the broker stored a record."""

    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """A record the broker did not accept; ``error`` keeps librdkafka's code."""

    topic: str
    key: str
    event_id: str | None
    error: DeliveryError


@dataclass(frozen=True, slots=True)
class _Pending:
    future: Future[DeliveryResult]
    topic: str
    key: str
    event_id: str | None
    trace_id: str | None


class TouchpointPublisher:
    """Publishes touchpoints to ``topics.touchpoints`` and accounts to ``topics.accounts``.

    Use as a context manager (or call :meth:`close`): leaving it flushes what is queued.
    """

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topics: TopicSettings,
        options: PublisherOptions | None = None,
    ) -> None:
        self._topics = topics
        self._options = options or PublisherOptions()
        config = producer_config(kafka, self._options)
        self._producer = Producer({**config, "error_cb": _log_client_error})
        self._failures: list[DeliveryFailure] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kam-publisher-poll", daemon=True)
        self._poller.start()

    # --- publishing ---------------------------------------------------------------------------
    def publish(self, event: TouchpointInput) -> Future[DeliveryResult]:
        """Validate and queue one touchpoint; the future resolves when the broker stored it.

        Raises :class:`InvalidTouchpointError` (nothing sent) for an invalid document. An event
        without ``trace_id`` gets a fresh one, in its JSON and in the ``trace-id`` header.
        """
        touchpoint = with_trace_id(to_touchpoint(event))
        return self._send(
            topic=self._topics.touchpoints,
            key=touchpoint.account_id,
            value=touchpoint.model_dump_json().encode(),
            headers=touchpoint_headers(touchpoint),
            event_id=touchpoint.event_id,
            trace_id=touchpoint.trace_id,
        )

    def publish_account(self, account: Account) -> Future[DeliveryResult]:
        """Queue an account's master data on the compacted accounts topic."""
        return self._send(
            topic=self._topics.accounts,
            key=account.account_id,
            value=account.model_dump_json().encode(),
            headers=json_headers(),
        )

    def delete_account(self, account_id: str) -> Future[DeliveryResult]:
        """Queue a tombstone: compaction then forgets the account."""
        return self._send(topic=self._topics.accounts, key=account_id, value=None, headers=[])

    def publish_dead_letter(self, letter: DeadLetter, *, key: str) -> Future[DeliveryResult]:
        """Queue a dead letter (a rejection made at the edge, e.g. by ``kam ingest``)."""
        return self._send(
            topic=self._topics.deadletter,
            key=key,
            value=letter.model_dump_json().encode(),
            headers=json_headers(),
        )

    def reachable(self, timeout: float) -> bool:
        """Whether a broker of the cluster answers a metadata request within ``timeout``."""
        try:
            self._producer.list_topics(self._topics.touchpoints, timeout=timeout)
        except KafkaException:
            return False
        return True

    def publish_raw(
        self, *, key: str, value: bytes, headers: Headers | None = None
    ) -> Future[DeliveryResult]:
        """Queue bytes on the touchpoints topic WITHOUT validation (dead-letter demos, tests)."""
        return self._send(
            topic=self._topics.touchpoints, key=key, value=value, headers=headers or []
        )

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Records queued or in flight."""
        return len(self._producer)

    def flush(self, timeout: float = 30.0) -> list[DeliveryFailure]:
        """Wait until every queued record is delivered; the failures since the last flush.

        Raises :class:`FlushTimeoutError` when records are still undelivered after ``timeout``.
        """
        remaining = self._producer.flush(timeout)
        if remaining:
            raise FlushTimeoutError(pending=remaining, timeout=timeout)
        return self._take_failures()

    def close(self, timeout: float = 30.0) -> list[DeliveryFailure]:
        """Flush, then stop. Records still undelivered after ``timeout`` are purged and failed."""
        if self._closed.is_set():
            return []
        remaining = self._producer.flush(timeout)
        if remaining:
            self._producer.purge()
            self._producer.flush(0)
        self._closed.set()
        self._poller.join()
        self._producer.close()
        failures = self._take_failures()
        if failures:
            log.warning("publisher closed with %d undelivered records", len(failures))
        return failures

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------
    def _send(
        self,
        *,
        topic: str,
        key: str,
        value: bytes | None,
        headers: Headers,
        event_id: str | None = None,
        trace_id: str | None = None,
    ) -> Future[DeliveryResult]:
        if self._closed.is_set():
            raise PublisherClosedError("publisher is closed")
        pending = _Pending(Future(), topic, key, event_id, trace_id)
        deadline = time.monotonic() + self._options.queue_full_timeout
        while True:
            try:
                self._producer.produce(
                    topic,
                    key=key.encode(),
                    value=value,
                    headers=list(headers),  # typed as confluent-kafka's (str, str | bytes | None)
                    on_delivery=lambda err, msg: self._on_delivery(pending, err, msg),
                )
                return pending.future
            except BufferError:
                if time.monotonic() >= deadline:
                    raise PublisherBackpressureError(
                        retry_after=self._options.poll_interval, queued=len(self._producer)
                    ) from None
                self._producer.poll(self._options.poll_interval)
            except KafkaException as exc:
                raise _delivery_error(exc.args[0], topic, key) from exc

    def _on_delivery(self, pending: _Pending, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            pending.future.set_result(
                DeliveryResult(
                    topic=pending.topic,
                    partition=msg.partition() or 0,
                    offset=msg.offset() or 0,
                    key=pending.key,
                    event_id=pending.event_id,
                    trace_id=pending.trace_id,
                )
            )
            return
        error = _delivery_error(err, pending.topic, pending.key)
        if self._options.keep_failures:
            with self._lock:
                failure = DeliveryFailure(pending.topic, pending.key, pending.event_id, error)
                self._failures.append(failure)
        pending.future.set_exception(error)

    def _take_failures(self) -> list[DeliveryFailure]:
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(self._options.poll_interval)


def _delivery_error(err: KafkaError, topic: str, key: str) -> DeliveryError:
    return DeliveryError(
        code=err.name(), reason=err.str(), retriable=err.retriable(), topic=topic, key=key
    )


def _log_client_error(err: KafkaError) -> None:
    log.warning("kafka client error %s: %s", err.name(), err.str())
