"""The notifier's own topics, as declared with every other topic in :mod:`kam.kafka_admin`."""

from __future__ import annotations

from confluent_kafka.admin import NewTopic

from kam.kafka_admin import pipeline_topics
from kam.settings import TopicSettings


def notifier_topics(topics: TopicSettings) -> list[NewTopic]:
    """Snoozes (compacted, one partition) and undeliverable notification records."""
    mine = {topics.snoozes, topics.undeliverable}
    return [topic for topic in pipeline_topics(topics) if topic.topic in mine]
