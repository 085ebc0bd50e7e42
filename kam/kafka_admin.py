"""Topic management: every topic is declared here and created up front with its partitions."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from kam.errors import KamError
from kam.settings import KafkaSettings, TopicSettings

COMPACTED = {"cleanup.policy": "compact"}


class TopicError(KamError):
    """A topic could not be created."""


def pipeline_topics(topics: TopicSettings) -> list[NewTopic]:
    """Every topic KAM Pulse uses.

    Topics keyed by account share one partition count, so that an account's touchpoints, its
    master data and its state land on the same partition number (co-partitioning). Snoozes
    are few and read whole by every notifier: one compacted partition.
    """
    keyed: dict[str, dict[str, str]] = {
        topics.touchpoints: {},
        topics.accounts: COMPACTED,
        topics.account_status: COMPACTED,
        topics.enriched: {},
        topics.deadletter: {},
        topics.alerts: {},
        topics.kpis: {},
        topics.undeliverable: {},
    }
    declared = [
        NewTopic(name, num_partitions=topics.partitions, replication_factor=1, config=config)
        for name, config in keyed.items()
    ]
    snoozes = NewTopic(topics.snoozes, num_partitions=1, replication_factor=1, config=COMPACTED)
    return [*declared, snoozes]


def ensure_topics(kafka: KafkaSettings, wanted: list[NewTopic], timeout: float = 30.0) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AdminClient(kafka.confluent_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [topic for topic in wanted if topic.topic not in existing]
    if not missing:
        return
    for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise TopicError(f"cannot create topic {name}: {exc.args[0].str()}") from exc
