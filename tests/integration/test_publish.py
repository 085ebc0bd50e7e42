"""The publisher SDK against the real broker: keys, values, headers and murmur2 partitions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import NewTopic

from kam.kafka_admin import COMPACTED, ensure_topics
from kam.localkafka import free_port
from kam.settings import KafkaSettings, TopicSettings
from producers import (
    DeliveryError,
    FlushTimeoutError,
    InvalidTouchpointError,
    PublisherBackpressureError,
    PublisherClosedError,
    PublisherOptions,
    TouchpointPublisher,
)
from schemas import Account, AccountTier, parse_touchpoint

pytestmark = pytest.mark.integration

PARTITIONS = 4


def read_records(kafka: KafkaSettings, topic: str, count: int) -> list[Message]:
    """Exactly the first ``count`` records of ``topic`` (bounded: at most 60 one-second polls)."""
    consumer = Consumer(
        {
            **kafka.confluent_config(),
            "group.id": f"{topic}-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records: list[Message] = []
    try:
        for _ in range(60):
            if len(records) >= count:
                break
            batch = consumer.consume(max(count - len(records), 1), timeout=1.0)
            records.extend(m for m in batch if m.error() is None)
        extra = [m for m in consumer.consume(10, timeout=0.5) if m.error() is None]
    finally:
        consumer.close()
    assert len(records) + len(extra) == count
    return sorted(records, key=lambda m: (m.partition(), m.offset()))


@pytest.fixture
def topics(kafka_settings: KafkaSettings, unique_name: Callable[[str], str]) -> TopicSettings:
    settings = TopicSettings(
        touchpoints=unique_name("tp"), accounts=unique_name("acc"), partitions=PARTITIONS
    )
    ensure_topics(
        kafka_settings,
        [
            NewTopic(settings.touchpoints, num_partitions=PARTITIONS, replication_factor=1),
            NewTopic(
                settings.accounts, num_partitions=PARTITIONS, replication_factor=1, config=COMPACTED
            ),
        ],
    )
    return settings


@pytest.fixture
def publisher(
    kafka_settings: KafkaSettings, topics: TopicSettings
) -> Iterator[TouchpointPublisher]:
    with TouchpointPublisher(kafka=kafka_settings, topics=topics) as pub:
        yield pub


def csat(account_id: str, event_id: str, *, trace_id: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "event_id": event_id,
        "account_id": account_id,
        "occurred_at": "2026-03-02T10:00:00Z",
        "source_system": "helpdesk",
        "event_type": "csat_submitted",
        "payload": {"score": 2, "ticket_id": "T-9"},
    }
    if trace_id:
        document["trace_id"] = trace_id
    return document


def java_partition(java_murmur2: int) -> int:
    """Kafka's ``Utils.toPositive(murmur2(key)) % partitions``."""
    return (java_murmur2 & 0x7FFFFFFF) % PARTITIONS


def test_publish_round_trip_keys_values_headers_partitions(
    kafka_settings: KafkaSettings, topics: TopicSettings, publisher: TouchpointPublisher
) -> None:
    # Murmur2 values from Kafka's own UtilsTest (Java): these keys must land where Java would.
    java_hashes = {"21": -973932308, "foobar": -790332482, "abc": 479470107}
    model = parse_touchpoint(json.dumps(csat("21", "e-1", trace_id="t-model")))
    futures = [
        publisher.publish(model),
        publisher.publish(csat("foobar", "e-2", trace_id="t-dict")),
        publisher.publish(json.dumps(csat("abc", "e-3"))),
    ]
    assert publisher.flush(10) == []
    results = [f.result(timeout=0) for f in futures]
    generated_trace = results[2].trace_id
    assert generated_trace is not None and len(generated_trace) == 32
    assert [(r.key, r.event_id, r.trace_id) for r in results] == [
        ("21", "e-1", "t-model"),
        ("foobar", "e-2", "t-dict"),
        ("abc", "e-3", generated_trace),
    ]
    assert [r.partition for r in results] == [java_partition(java_hashes[r.key]) for r in results]
    assert [r.partition for r in results] == [0, 2, 3]

    records = {m.key().decode(): m for m in read_records(kafka_settings, topics.touchpoints, 3)}
    for result in results:
        record = records[result.key]
        assert (record.partition(), record.offset()) == (result.partition, result.offset)
        expected = csat(result.key, result.event_id or "", trace_id=result.trace_id)
        assert json.loads(record.value()) == {
            **expected,
            "schema_version": 1,
            "contact_point": "support",
        }
        assert record.headers() == [
            ("schema-version", b"1"),
            ("source-system", b"helpdesk"),
            ("event-type", b"csat_submitted"),
            ("trace-id", (result.trace_id or "").encode()),
            ("content-type", b"application/json"),
        ]
        assert parse_touchpoint(record.value()).trace_id == result.trace_id


def test_partitions_agree_with_aiokafka_default_partitioner(
    kafka_settings: KafkaSettings, topics: TopicSettings, publisher: TouchpointPublisher
) -> None:
    keys = [f"acct-{i:03d}" for i in range(40)]
    for i, key in enumerate(keys):
        publisher.publish(csat(key, f"e-{i}"))
    assert publisher.flush(10) == []
    records = read_records(kafka_settings, topics.touchpoints, 40)
    all_partitions = list(range(PARTITIONS))
    chosen = {m.key().decode(): m.partition() for m in records}
    assert chosen == {
        key: DefaultPartitioner()(key.encode(), all_partitions, all_partitions) for key in keys
    }
    assert len(set(chosen.values())) == PARTITIONS


def test_invalid_document_is_rejected_before_sending(
    kafka_settings: KafkaSettings, topics: TopicSettings, publisher: TouchpointPublisher
) -> None:
    bad = csat("acct-1", "e-1")
    bad["payload"]["score"] = 9
    with pytest.raises(InvalidTouchpointError) as info:
        publisher.publish(bad)
    assert [(i.path, i.message) for i in info.value.issues] == [
        ("payload.score", "Input should be less than or equal to 5")
    ]
    publisher.publish(csat("acct-1", "e-2"))
    assert publisher.flush(10) == []
    [record] = read_records(kafka_settings, topics.touchpoints, 1)
    assert json.loads(record.value())["event_id"] == "e-2"


def test_accounts_and_tombstones_on_the_compacted_topic(
    kafka_settings: KafkaSettings, topics: TopicSettings, publisher: TouchpointPublisher
) -> None:
    account = Account(
        account_id="abc",
        name="Acme Foods",
        tier=AccountTier.STRATEGIC,
        kam_owner="Lucia Ortega",
        kam_team="kam-iberia",
    )
    first = publisher.publish_account(account)
    second = publisher.delete_account("abc")
    assert publisher.flush(10) == []
    assert first.result(timeout=0).partition == java_partition(479470107) == 3
    assert second.result(timeout=0).offset == first.result(timeout=0).offset + 1
    records = read_records(kafka_settings, topics.accounts, 2)
    assert [(m.key(), m.partition()) for m in records] == [(b"abc", 3), (b"abc", 3)]
    assert Account.model_validate_json(records[0].value()) == account
    assert records[0].headers() == [("content-type", b"application/json")]
    assert records[1].value() is None


def test_delivery_failure_reaches_future_and_flush(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str]
) -> None:
    missing = TopicSettings(touchpoints=unique_name("never-created"))
    options = PublisherOptions(delivery_timeout_ms=1500)
    with TouchpointPublisher(kafka=kafka_settings, topics=missing, options=options) as pub:
        future = pub.publish(csat("acct-1", "e-1"))
        failures = pub.flush(15)
    assert [(f.topic, f.key, f.event_id) for f in failures] == [
        (missing.touchpoints, "acct-1", "e-1")
    ]
    error = future.exception(timeout=0)
    assert isinstance(error, DeliveryError)
    assert error is failures[0].error
    # The broker does not auto-create topics: the record waits for metadata until it expires.
    assert (error.code, error.reason) == ("_MSG_TIMED_OUT", "Local: Message timed out")


def test_plain_producer_with_documented_json_is_accepted(
    kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    """A non-SDK producer needs only the documented JSON: no headers, no trace id."""
    document = {
        "event_id": "evt-42",
        "account_id": "acct-7",
        "occurred_at": "2026-03-02T09:30:00+01:00",
        "source_system": "wms",
        "event_type": "delivery_completed",
        "payload": {
            "shipment_id": "SH-1",
            "promised_at": "2026-03-02T08:00:00+01:00",
            "delivered_at": "2026-03-02T09:30:00+01:00",
            "ordered_qty": 10,
            "delivered_qty": 9,
        },
    }
    producer = Producer({**kafka_settings.confluent_config(), "partitioner": "murmur2_random"})
    producer.produce(topics.touchpoints, key=b"acct-7", value=json.dumps(document).encode())
    assert producer.flush(10) == 0
    [record] = read_records(kafka_settings, topics.touchpoints, 1)
    assert record.headers() is None
    event = parse_touchpoint(record.value())
    assert event.event_type == "delivery_completed"
    assert event.account_id == "acct-7"
    assert event.payload.delivered_qty == 9  # type: ignore[union-attr]
    assert event.payload.damaged_qty == 0  # type: ignore[union-attr]
    assert event.trace_id is None


def test_full_queue_raises_backpressure_and_close_purges() -> None:
    """No broker listens: records stay queued, the queue (1 record) fills, close() fails them."""
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    options = PublisherOptions(queue_full_timeout=0.3, extra={"queue.buffering.max.messages": 1})
    publisher = TouchpointPublisher(kafka=nowhere, topics=TopicSettings(), options=options)
    queued = publisher.publish(csat("acct-1", "e-1"))
    with pytest.raises(PublisherBackpressureError) as info:
        publisher.publish(csat("acct-2", "e-2"))
    assert (info.value.queued, info.value.retry_after) == (1, 0.1)
    with pytest.raises(FlushTimeoutError) as timeout:
        publisher.flush(0.2)
    assert timeout.value.pending == 1
    failures = publisher.close(timeout=0.2)
    assert [(f.key, f.event_id, f.error.code) for f in failures] == [
        ("acct-1", "e-1", "_PURGE_QUEUE")
    ]
    assert queued.exception(timeout=0) is failures[0].error
    with pytest.raises(PublisherClosedError):
        publisher.publish(csat("acct-1", "e-3"))
    assert publisher.close() == []
