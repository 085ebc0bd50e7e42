"""The snoozes in force for an account, read from the compacted snoozes topic (where
``kam alerts snooze`` publishes them and the notifier follows them): not in ClickHouse."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException
from confluent_kafka import TopicPartition as KafkaPartition
from pydantic import ValidationError

from kam.settings import KafkaSettings, TopicSettings
from sinks.board.exceptions import BoardError
from sinks.notify.snooze import Snooze, SnoozeBook


class SnoozesUnavailableError(BoardError):
    """The snoozes topic could not be read in time (the page says so, the rest still shows)."""


def read_snoozes(kafka: KafkaSettings, topics: TopicSettings, *, timeout: float) -> SnoozeBook:
    """Every snooze record on the topic up to its current end, applied in order."""
    consumer = Consumer({**kafka.confluent_config(), "group.id": "kam-board.snoozes",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    book = SnoozeBook()
    deadline = time.monotonic() + timeout
    try:
        metadata = consumer.list_topics(topics.snoozes, timeout=timeout)
        found = metadata.topics.get(topics.snoozes)
        if found is None or found.error is not None:
            return book  # nobody snoozed anything yet
        ends = {}
        for partition in sorted(found.partitions):
            low, high = consumer.get_watermark_offsets(
                KafkaPartition(topics.snoozes, partition), timeout=timeout
            )
            if high > low:
                ends[partition] = high
        consumer.assign([KafkaPartition(topics.snoozes, p, OFFSET_BEGINNING) for p in ends])
        while ends:
            if time.monotonic() > deadline:
                raise SnoozesUnavailableError(f"the snoozes topic {topics.snoozes} was not read in"
                                         f" {timeout:g}s")
            for message in consumer.consume(500, 0.2):
                if message.error():
                    continue
                _apply(book, message.key(), message.value())
                partition, offset = message.partition() or 0, message.offset() or 0
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
    except KafkaException as exc:
        raise SnoozesUnavailableError(f"the snoozes topic could not be read: {exc}") from exc
    finally:
        consumer.close()
    return book


def _apply(book: SnoozeBook, key: bytes | None, value: bytes | None) -> None:
    try:
        snooze = None if value is None else Snooze.model_validate_json(value)
    except ValidationError:
        return  # the notifier skips it too
    book.apply((key or b"").decode("utf-8", "replace"), snooze)


def account_snoozes(book: SnoozeBook, account_id: str, now: datetime) -> list[Snooze]:
    """The account's snoozes still in force at ``now`` (whole account first, then by rule)."""
    return sorted(
        (s for s in book.snoozes() if s.account_id == account_id and s.until > now),
        key=lambda s: (s.rule is not None, s.rule or "", s.until),
    )


class SnoozeCache:
    """The snoozes topic read at most once per ``ttl`` seconds (an unreachable cluster too, so
    that pages do not each wait ``timeout`` for it)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicSettings,
        *,
        timeout: float,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        read: Callable[..., SnoozeBook] = read_snoozes,
    ) -> None:
        self._kafka, self._topics, self._timeout, self._ttl = kafka, topics, timeout, ttl
        self._clock, self._read = clock, read
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._found: SnoozeBook | SnoozesUnavailableError = SnoozeBook()

    def book(self) -> SnoozeBook:
        """The snoozes as read at most ``ttl`` seconds ago; SnoozesUnavailableError if that
        read failed."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._ttl:
                try:
                    self._found = self._read(self._kafka, self._topics, timeout=self._timeout)
                except SnoozesUnavailableError as exc:
                    self._found = exc
                self._read_at = self._clock()
            if isinstance(self._found, SnoozesUnavailableError):
                raise self._found
            return self._found
