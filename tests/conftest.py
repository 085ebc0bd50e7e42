"""Suite-wide fixtures: one real local Kafka broker per test session, fresh names per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from kam.localkafka import local_kafka
from kam.settings import KafkaSettings


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of the real broker (started once; ``KAFKA_BOOTSTRAP_SERVERS`` wins)."""
    with local_kafka() as bootstrap:
        yield bootstrap


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=kafka_bootstrap)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Factory of names unique to this test, for topics and consumer groups."""
    suffix = uuid.uuid4().hex[:8]
    return lambda base: f"{base}-{suffix}"
