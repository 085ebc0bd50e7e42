"""Kafka edges of the account loader: topics, reading compacted state back, publishing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import NewTopic
from pydantic import BaseModel, ValidationError

from kam.kafka_admin import COMPACTED, ensure_topics
from kam.settings import KafkaSettings, TopicSettings
from producers.accounts.exceptions import AccountPublishError, AccountStateError
from producers.accounts.plan import CurrentState
from producers.publisher import PublisherOptions, producer_config
from schemas.account_status import AccountStatus
from schemas.accounts import Account

CLIENT_ID = "kam-accounts-loader"
RETRY_PAUSE = 0.2
UNKNOWN_TOPIC = KafkaError.UNKNOWN_TOPIC_OR_PART
WAIT_FOR_LEADER = frozenset(
    {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC}
)
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class StateRead:
    state: CurrentState
    skipped: int
    """Records on the topics that are not valid accounts / statuses (ignored)."""


def ensure_account_topics(kafka: KafkaSettings, topics: TopicSettings, timeout: float) -> None:
    """Create the compacted accounts and account-status topics when they do not exist."""
    ensure_topics(
        kafka,
        [
            NewTopic(name, num_partitions=topics.partitions, replication_factor=1, config=COMPACTED)
            for name in (topics.accounts, topics.account_status)
        ],
        timeout=timeout,
    )


def read_state(kafka: KafkaSettings, topics: TopicSettings, *, timeout: float) -> StateRead:
    """The latest account and status per account id, read from the start of both topics."""
    raw_accounts = read_latest(kafka, topics.accounts, timeout=timeout)
    raw_statuses = read_latest(kafka, topics.account_status, timeout=timeout)
    accounts, bad_accounts = _decode(raw_accounts, Account)
    statuses, bad_statuses = _decode(raw_statuses, AccountStatus)
    return StateRead(
        state=CurrentState(accounts=accounts, statuses=statuses),
        skipped=bad_accounts + bad_statuses,
    )


def read_latest(kafka: KafkaSettings, topic: str, *, timeout: float) -> dict[str, bytes]:
    """Latest value per key of a (compacted) topic up to its current end; tombstones delete.

    Reads without a consumer group commit. A missing topic reads as empty.
    """
    consumer = Consumer(
        {
            **kafka.confluent_config(),
            "client.id": CLIENT_ID,
            "group.id": f"{CLIENT_ID}-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        return _read_to_end(consumer, topic, timeout)
    except KafkaException as exc:
        error = exc.args[0]
        raise AccountStateError(f"cannot read {topic}: {error.name()}: {error.str()}") from exc
    finally:
        consumer.close()


def publish(
    kafka: KafkaSettings,
    records: Sequence[tuple[str, str, bytes]],
    *,
    timeout: float,
    headers: Sequence[list[tuple[str, str | bytes | None]]] | None = None,
) -> None:
    """Publish ``(topic, key, value)`` records idempotently (acks=all, murmur2_random), with
    ``headers[i]`` on record ``i`` when given.

    Raises :class:`AccountPublishError` unless the broker stored every record.
    """
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err)

    producer = Producer(producer_config(kafka, PublisherOptions(client_id=CLIENT_ID)))
    deadline = time.monotonic() + timeout
    try:
        for index, (topic, key, value) in enumerate(records):
            _produce(
                producer, topic=topic, key=key.encode(), value=value,
                on_delivery=on_delivery, deadline=deadline,
                headers=headers[index] if headers else None,
            )
        remaining = producer.flush(_left(deadline))
    finally:
        if len(producer):  # undelivered after the deadline: drop them, do not linger
            producer.purge()
            producer.flush(0)
        producer.close()
    if remaining or failures:
        codes = tuple(sorted({err.name() for err in failures})) or ("TIMED_OUT",)
        detail = failures[0].str() if failures else f"{remaining} still queued after {timeout}s"
        raise AccountPublishError(failed=remaining + len(failures), codes=codes, detail=detail)


def _produce(
    producer: Producer,
    *,
    topic: str,
    key: bytes,
    value: bytes,
    on_delivery: Callable[[KafkaError | None, Message], None],
    deadline: float,
    headers: list[tuple[str, str | bytes | None]] | None = None,
) -> None:
    """Queue one record, serving delivery reports while the local queue is full."""
    while True:
        try:
            producer.produce(
                topic, key=key, value=value, on_delivery=on_delivery, headers=headers or []
            )
            producer.poll(0)
            return
        except BufferError:
            if time.monotonic() >= deadline:
                raise AccountPublishError(
                    failed=len(producer), codes=("QUEUE_FULL",), detail="local queue full"
                ) from None
            producer.poll(0.1)


def _read_to_end(consumer: Consumer, topic: str, timeout: float) -> dict[str, bytes]:
    deadline = time.monotonic() + timeout
    partitions = _partitions(consumer, topic, deadline)
    ends: dict[int, int] = {}
    for partition in partitions:
        low, high = _watermarks(consumer, TopicPartition(topic, partition), deadline)
        if high > low:
            ends[partition] = high
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    latest: dict[str, bytes] = {}
    while ends:
        if time.monotonic() >= deadline:
            raise AccountStateError(
                f"cannot read {topic} to its end within {timeout}s "
                f"({len(ends)} partition(s) unfinished)"
            )
        for message in consumer.consume(500, timeout=0.5):
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
                ends.pop(message.partition() or 0, None)
                continue
            key = (message.key() or b"").decode("utf-8", errors="replace")
            value = message.value()
            if value is None:
                latest.pop(key, None)
            else:
                latest[key] = value
            partition, offset = message.partition() or 0, message.offset() or 0
            if partition in ends and offset >= ends[partition] - 1:
                ends.pop(partition)
    return latest


def _partitions(consumer: Consumer, topic: str, deadline: float) -> list[int]:
    """The topic's partitions; none when it does not exist. Waits out leader elections."""
    while True:
        metadata = consumer.list_topics(topic, timeout=_left(deadline)).topics.get(topic)
        error = metadata.error if metadata is not None else None
        if metadata is None or (error is not None and error.code() == UNKNOWN_TOPIC):
            return []
        if error is None:
            return list(metadata.partitions)
        if time.monotonic() >= deadline:
            raise KafkaException(error)
        time.sleep(RETRY_PAUSE)


def _watermarks(
    consumer: Consumer, partition: TopicPartition, deadline: float
) -> tuple[int, int]:
    """Low and high offsets; asks again while a new partition has no leader yet."""
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=_left(deadline))
            return low, high
        except KafkaException as exc:
            error = exc.args[0]
            retriable = error.retriable() or error.code() in WAIT_FOR_LEADER
            if not retriable or time.monotonic() >= deadline:
                raise
        time.sleep(RETRY_PAUSE)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.1)


def _decode(raw: dict[str, bytes], model: type[Model]) -> tuple[dict[str, Model], int]:
    decoded: dict[str, Model] = {}
    skipped = 0
    for key, value in raw.items():
        try:
            decoded[key] = model.model_validate_json(value)
        except ValidationError:
            skipped += 1
    return decoded, skipped
