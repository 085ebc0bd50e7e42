"""The local broker really serves clients: a produced record is consumed back."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import NewTopic

from kam.kafka_admin import ensure_topics
from kam.settings import KafkaSettings


def test_round_trip(kafka_settings: KafkaSettings, unique_name: Callable[[str], str]) -> None:
    topic = unique_name("roundtrip")
    ensure_topics(kafka_settings, [NewTopic(topic, num_partitions=2, replication_factor=1)])
    producer = Producer(kafka_settings.confluent_config())
    for i in range(10):
        producer.produce(topic, key=f"k{i}", value=f"v{i}")
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            **kafka_settings.confluent_config(),
            "group.id": unique_name("g"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    for _ in range(100):
        if len(values) == 10:
            break
        values.extend(m.value() for m in consumer.consume(10, timeout=1.0) if not m.error())
    consumer.close()
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(10))
