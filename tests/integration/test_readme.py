"""The README's SDK example runs as written against the real broker."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.settings import KafkaSettings, TopicSettings
from tests.integration.helpers import read_topic

README = Path(__file__).resolve().parents[2] / "README.md"


def test_sdk_example_publishes_one_touchpoint(
    kafka_settings: KafkaSettings,
    unique_name: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    topic = unique_name("readme.touchpoints")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("KAM_TOPIC_TOUCHPOINTS", topic)
    ensure_topics(kafka_settings, pipeline_topics(TopicSettings()))

    exec(compile(example, str(README), "exec"), {})

    printed_topic, partition, offset = capsys.readouterr().out.split()
    assert (printed_topic, offset) == (topic, "0")
    assert 0 <= int(partition) < TopicSettings().partitions
    (value,) = read_topic(kafka_settings, topic, expected=1)
    assert b'"event_id":"zendesk-4711"' in value
