"""Fixtures that run KAM Pulse services as real processes against the real broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.localkafka import free_port
from kam.processes import ServiceProcess
from kam.settings import KafkaSettings, TopicSettings
from tests.integration.helpers import group_progress, read_topic, topic_size


@dataclass
class Pipeline:
    """Fresh topics, group ids and data directories for one test, and its service processes."""

    kafka: KafkaSettings
    topics: TopicSettings
    workdir: Path
    env: dict[str, str]
    services: list[ServiceProcess] = field(default_factory=list)

    def service(
        self, command: list[str], *, name: str, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """Start ``kam <command>`` with a metrics endpoint; it is stopped when the test ends."""
        process = ServiceProcess(
            command=command,
            env={**self.env, **(env or {})},
            log_path=self.workdir / "logs" / f"{name}.log",
            name=name,
            metrics_port=free_port(),
        )
        self.services.append(process)
        return process.start()

    def size(self, topic: str) -> int:
        """Records on ``topic`` now (every partition)."""
        return topic_size(self.kafka, topic, self.topics.partitions)

    def read_all(self, topic: str) -> list[bytes]:
        """Every record value on ``topic`` now, partition by partition in offset order."""
        return read_topic(self.kafka, topic, expected=self.size(topic), timeout=30)

    def worker_progress(self) -> str:
        """The workers' consumer group: members, assignment and lag on their input topics."""
        return group_progress(
            self.kafka, self.env["KAM_WORKER_APP_ID"],
            [self.topics.touchpoints, self.topics.accounts], self.topics.partitions,
        )  # fmt: skip

    def worker(self, *, name: str = "worker") -> ServiceProcess:
        """A stream worker with its own data directory."""
        return self.service(
            ["worker"], name=name, env={"KAM_WORKER_DATA_DIR": str(self.workdir / name)}
        )


@pytest.fixture
def pipeline(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> Iterator[Pipeline]:
    names = {
        field_name: unique_name(f"t.{field_name}")
        for field_name, info in TopicSettings.model_fields.items()
        if info.annotation is str
    }
    topics = TopicSettings(**names, partitions=4)
    ensure_topics(kafka_settings, pipeline_topics(topics))
    env = {f"KAM_TOPIC_{key.upper()}": value for key, value in names.items()}
    env |= {
        "KAM_TOPIC_PARTITIONS": "4",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAM_WORKER_APP_ID": unique_name("kam-test"),
        "CLICKHOUSE_CHDB_PATH": str(tmp_path / "chdb"),
        # Windows end at event time only, so results equal a pass of the pure core whatever
        # the clock (tests of the clock's part run the core directly).
        "KAM_WORKER_IDLE_ADVANCE_SECONDS": "0",
    }
    running = Pipeline(kafka=kafka_settings, topics=topics, workdir=tmp_path, env=env)
    yield running
    for process in running.services:
        process.stop()
