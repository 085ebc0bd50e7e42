"""Shared helpers of the integration tests: publish raw records, read topics back, poll metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

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


LEADERLESS = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE})
"""What a just-created partition answers until its leader is elected."""


def topic_size(kafka: KafkaSettings, topic: str, partitions: int, timeout: float = 10) -> int:
    """Records on ``topic`` now; waits out a partition whose leader is still being elected."""
    consumer = Consumer({**kafka.confluent_config(), "group.id": "sizer"})
    deadline = time.monotonic() + timeout
    total = 0
    try:
        for partition in range(partitions):
            while True:
                try:
                    low, high = consumer.get_watermark_offsets(
                        TopicPartition(topic, partition), timeout=timeout
                    )
                    break
                except KafkaException as exc:
                    if exc.args[0].code() not in LEADERLESS or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            total += high - low
    finally:
        consumer.close()
    return total


def group_progress(
    kafka: KafkaSettings, group: str, topics: Sequence[str], partitions: int
) -> str:
    """A consumer group's members with their assignment, and its committed offsets, end
    offsets and lag per partition of ``topics`` (what a failing wait needs to show)."""
    lines = [f"consumer group {group}:"]
    admin = AdminClient(kafka.confluent_config())
    try:
        description = admin.describe_consumer_groups([group])[group].result(timeout=10)
        state = description.state
        lines.append(f"  state {state.name if isinstance(state, ConsumerGroupState) else state}")
        for member in description.members:
            assigned = sorted(
                f"{tp.topic}[{tp.partition}]" for tp in member.assignment.topic_partitions
            )
            lines.append(f"  member {member.member_id} ({member.host}): {', '.join(assigned)}")
    except KafkaException as exc:
        lines.append(f"  cannot describe the group: {exc}")
    consumer = Consumer({**kafka.confluent_config(), "group.id": group})
    try:
        for tp in _committed(consumer, topics, partitions):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            done = tp.offset if tp.offset >= 0 else low
            lines.append(
                f"  {tp.topic}[{tp.partition}] committed {tp.offset if tp.offset >= 0 else '-'}"
                f" end {high} lag {high - done}"
            )
    except KafkaException as exc:
        lines.append(f"  cannot read the committed offsets: {exc}")
    finally:
        consumer.close()
    return "\n".join(lines)


def committed_offsets(
    kafka: KafkaSettings, group: str, topic: str, partitions: int
) -> dict[int, int | None]:
    """The offset ``group`` committed per partition of ``topic`` (``None``: never committed)."""
    consumer = Consumer({**kafka.confluent_config(), "group.id": group})
    try:
        return {
            tp.partition: tp.offset if tp.offset >= 0 else None
            for tp in _committed(consumer, [topic], partitions)
        }
    finally:
        consumer.close()


def _committed(consumer: Consumer, topics: Sequence[str], partitions: int) -> list[TopicPartition]:
    wanted = [TopicPartition(topic, p) for topic in topics for p in range(partitions)]
    return list(consumer.committed(wanted, timeout=10))


def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float = 60.0,
    what: str = "condition",
    alive: Sequence[ServiceProcess] = (),
    details: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns a truthy value; fail the test after ``timeout``.

    Fails at once, with the log's tail, when one of the ``alive`` processes has exited. A
    timeout shows ``details()`` (such as :func:`group_progress`) and the tail of every
    ``alive`` process's log.
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
    report = [f"timed out after {timeout}s waiting for {what}"]
    if details is not None:
        report.append(details())
    report += [f"--- {p.name} ({p.log_path}):\n{p.log_tail(80)}" for p in alive]
    raise AssertionError("\n".join(report))


def java_partition(key: str, partitions: int) -> int:
    """Kafka's Java default partitioner: murmur2 of the key bytes, made positive, modulo."""
    data = key.encode()
    m, h = 0x5BD1E995, (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    full = len(data) - len(data) % 4
    for i in range(0, full, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * m) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    if data[full:]:
        h = ((h ^ int.from_bytes(data[full:], "little")) * m) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * m) & 0xFFFFFFFF
    return ((h ^ (h >> 15)) & 0x7FFFFFFF) % partitions
