"""The SDK snippet and kcat commands of docs/wire-format.md, run as written on the real broker."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from kam.settings import KafkaSettings, TopicSettings
from schemas import parse_touchpoint
from tests.integration.test_publish import PARTITIONS, read_records, topics

pytestmark = pytest.mark.integration
__all__ = ["topics"]

DOC = (Path(__file__).resolve().parents[2] / "docs" / "wire-format.md").read_text()


def documented(command: str, *, bootstrap: str, topic: str) -> list[str]:
    return shlex.split(
        command.replace("\\\n", " ")
        .replace("127.0.0.1:9092", bootstrap)
        .replace("kam.touchpoints", topic)
    )


def test_sdk_snippet_runs_as_documented(
    kafka_settings: KafkaSettings,
    topics: TopicSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snippet = DOC.split("```python\n")[1].split("```")[0]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("KAM_TOPIC_TOUCHPOINTS", topics.touchpoints)
    exec(compile(snippet, "docs/wire-format.md", "exec"), {})
    assert capsys.readouterr().out == "3 []\n"
    [record] = read_records(kafka_settings, topics.touchpoints, 1)
    assert (record.key(), record.partition()) == (b"acct-0001", 3)
    assert parse_touchpoint(record.value()).payload.score == 2  # type: ignore[union-attr]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (apt: kcat)")
def test_kcat_example_lands_where_the_workers_expect_it(
    kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    block = DOC.split("```sh\nkcat -P")[1].split("```")[0]
    produce, heredoc = ("kcat -P" + block).split("<<'EOF'\n", 1)
    line = heredoc.split("\nEOF")[0]
    consume = next(c for c in block.splitlines() if c.startswith("kcat -C"))
    where = {"bootstrap": kafka_settings.bootstrap_servers, "topic": topics.touchpoints}

    subprocess.run(documented(produce, **where), input=line, text=True, check=True, timeout=60)

    [record] = read_records(kafka_settings, topics.touchpoints, 1)
    key, value = line.split("|", 1)
    assert (record.key(), record.value()) == (key.encode(), value.encode())
    assert record.headers() == [("content-type", b"application/json")]
    partitions = list(range(PARTITIONS))
    assert record.partition() == DefaultPartitioner()(key.encode(), partitions, partitions)
    # librdkafka's default (CRC32) would have chosen another partition for this key.
    assert zlib.crc32(key.encode()) % PARTITIONS != record.partition()
    assert parse_touchpoint(record.value()).account_id == key

    shown = subprocess.run(
        documented(consume, **where), text=True, check=True, timeout=60, capture_output=True
    ).stdout
    assert shown == f"{record.partition()} {key} content-type=application/json {value}\n"
