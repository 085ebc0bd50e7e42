"""The notifier's own topics: snoozes (compacted) and undeliverable notification records."""

from __future__ import annotations

from confluent_kafka.admin import NewTopic

from kam.kafka_admin import COMPACTED
from kam.settings import TopicSettings

SNOOZE_PARTITIONS = 1


def notifier_topics(topics: TopicSettings) -> list[NewTopic]:
    """Snoozes: one compacted partition (every notifier reads it whole); undeliverable: keyed."""
    return [
        NewTopic(topics.snoozes, num_partitions=SNOOZE_PARTITIONS, replication_factor=1,
                 config=COMPACTED),
        NewTopic(topics.undeliverable, num_partitions=topics.partitions, replication_factor=1),
    ]
