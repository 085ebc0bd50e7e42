"""Shared helpers of the integration tests: publish raw records, read topics back, poll metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from confluent_kafka import Consumer, Producer, TopicPartition

from kam.processes import ServiceProcess
from kam.settings import KafkaSettings

T = TypeVar("T")


def produce(
    kafka: KafkaSettings, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> None:
    """Publish (key, value) pairs with the Java-compatible partitioner, as source systems must."""
    producer = Producer({**kafka.confluent_config(), "partitioner": "murmur2_random"})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def read_topic(
    kafka: KafkaSettings, topic: str, *, expected: int, timeout: float = 60.0
) -> list[bytes]:
    """Read a topic from the start until ``expected`` records arrived, then one more second.

    The extra second catches records beyond the expected count, so a test can assert exact
    counts rather than "at least".
    """
    consumer = Consumer(
        {
            **kafka.confluent_config(),
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    while time.monotonic() < deadline:
        if settle_until is None and len(values) >= expected:
            settle_until = time.monotonic() + 1.0
        if settle_until is not None and time.monotonic() >= settle_until:
            break
        for message in consumer.consume(500, timeout=0.2):
            if message.error() is None:
                values.append(message.value())
    consumer.close()
    return values


def topic_size(kafka: KafkaSettings, topic: str, partitions: int) -> int:
    consumer = Consumer({**kafka.confluent_config(), "group.id": "sizer"})
    total = 0
    for partition in range(partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        total += high - low
    consumer.close()
    return total


def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float = 60.0,
    what: str = "condition",
    alive: Sequence[ServiceProcess] = (),
) -> T:
    """Poll ``condition`` until it returns a truthy value; fail the test after ``timeout``.

    Fails at once, with the log's tail, when one of the ``alive`` processes has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in alive:
            if not process.running():
                raise AssertionError(f"{process.name} exited:\n{process.log_tail()}")
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
