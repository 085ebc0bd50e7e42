"""Producer-side throughput: simulator, validation, and publishing through the SDK vs raw.

Run: ``.venv/bin/python bench/bench_producer.py [--events N]`` (starts a local broker unless
``KAFKA_BOOTSTRAP_SERVERS`` is set). Prints one line per measurement, in records per second.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice

from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from kam.kafka_admin import ensure_topics
from kam.localkafka import local_kafka
from kam.settings import KafkaSettings, TopicSettings
from producers import SimulatedMessage, SimulationConfig, TouchpointPublisher, simulate_messages
from producers.publisher import PublisherOptions, producer_config
from producers.validation import to_touchpoint


def rate(label: str, count: int, run: Callable[[], object]) -> None:
    began = time.perf_counter()
    run()
    elapsed = time.perf_counter() - began
    print(f"{label:<40} {count:>8} records {elapsed:7.2f}s {count / elapsed:>10,.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    n: int = args.events
    config = SimulationConfig(seed=1, start=datetime(2026, 1, 1, tzinfo=UTC), bad_probability=0.1)
    messages: list[SimulatedMessage] = []
    rate("simulate_messages", n, lambda: messages.extend(islice(simulate_messages(config), n)))
    values = [m.value for m in messages]
    rate("to_touchpoint(bytes)", n, lambda: [to_touchpoint(v) for v in values])

    with local_kafka() as bootstrap:
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        suffix = uuid.uuid4().hex[:8]
        topics = TopicSettings(touchpoints=f"bench-sdk-{suffix}")
        raw_topic = f"bench-raw-{suffix}"
        ensure_topics(kafka, [NewTopic(t, num_partitions=4, replication_factor=1)
                              for t in (topics.touchpoints, raw_topic)])

        def raw(topic: str = raw_topic, batch: list[SimulatedMessage] = messages) -> None:
            producer = Producer(producer_config(kafka, PublisherOptions()))
            for m in batch:
                while True:
                    try:
                        producer.produce(topic, key=m.key.encode(), value=m.value)
                        break
                    except BufferError:
                        producer.poll(0.05)
                producer.poll(0)
            assert producer.flush(60) == 0

        def sdk() -> None:
            with TouchpointPublisher(kafka=kafka, topics=topics) as publisher:
                for m in messages:
                    publisher.publish(m.event)  # type: ignore[arg-type]  # invalid_fraction=0: never None
                assert publisher.flush(60) == []

        def sdk_json() -> None:
            with TouchpointPublisher(kafka=kafka, topics=topics) as publisher:
                for value in values:
                    publisher.publish(value)
                assert publisher.flush(60) == []

        for topic in (topics.touchpoints, raw_topic):  # metadata, PIDs, segments: not measured
            raw(topic, messages[:1000])
        rate("raw confluent-kafka produce+flush", n, raw)
        rate("TouchpointPublisher.publish(model)", n, sdk)
        rate("TouchpointPublisher.publish(json bytes)", n, sdk_json)


if __name__ == "__main__":
    main()
