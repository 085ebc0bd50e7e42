"""The server backend's error wrapping with the real driver (no server listening)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from kam.localkafka import free_port
from kam.settings import ClickHouseSettings, KafkaSettings, SinkSettings, TopicSettings
from sinks import run_sink
from sinks.exceptions import ClickHouseUnavailable
from sinks.server_backend import ServerBackend


def test_unreachable_server_is_unavailable() -> None:
    settings = ClickHouseSettings(host="127.0.0.1", port=free_port())
    with pytest.raises(ClickHouseUnavailable):
        ServerBackend(settings=settings)


def test_sink_waits_for_the_server_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sinks.runner")
    stop = threading.Event()
    sink = threading.Thread(
        target=run_sink,
        kwargs={
            "kafka": KafkaSettings(),
            "topics": TopicSettings(),
            "clickhouse": ClickHouseSettings(host="127.0.0.1", port=free_port()),
            "group_id": "never-used",
            "stop": stop,
            "sink": SinkSettings(retry_initial_seconds=0.01, retry_max_seconds=0.05),
        },
    )
    sink.start()
    for _ in range(300):
        if sum("unavailable at start" in r.message for r in caplog.records) >= 3:
            break
        time.sleep(0.05)
    stop.set()
    sink.join(timeout=30)
    assert not sink.is_alive()
    assert sum("unavailable at start" in r.message for r in caplog.records) >= 3
