"""A large batch is processed a slice at a time with the event loop served in between: the
combined outcome is that of the slices processed as batches of their own, its state staged in
the table once per key, and its records those of the slices in order.

The Faust app is built but never started (no broker is contacted); the events are stand-ins
with the fields the worker reads (value, topic, partition, offset).
"""

from __future__ import annotations

import asyncio
import zlib
from datetime import UTC, datetime
from itertools import islice
from types import SimpleNamespace
from typing import Any, cast

import faust
import pytest
from faust.types import EventT

from kam.settings import TopicSettings
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from streams import app
from streams.outputs import OutputRecord
from streams.replay import apply_state, offline_processor
from streams.tables import BatchTable, batch_table
from streams.validation import SourceRecord

TOPICS = TopicSettings()
NOW = datetime(2026, 3, 1, 1, tzinfo=UTC)
CONFIG = SimulationConfig(seed=11, accounts=40, start=datetime(2026, 3, 1, tzinfo=UTC),
                          bad_probability=0.3)  # fmt: skip


def source_records(count: int) -> list[SourceRecord]:
    """Simulated touchpoints, an account's always on the same of two partitions."""
    offsets = [0, 0]
    records: list[SourceRecord] = []
    for message in islice(simulate_messages(CONFIG), count):
        partition = zlib.crc32(message.key.encode()) % 2
        records.append(SourceRecord(message.value, TOPICS.touchpoints, partition,
                                    offsets[partition]))  # fmt: skip
        offsets[partition] += 1
    return records


def event(record: SourceRecord) -> EventT[Any]:
    where = SimpleNamespace(topic=record.topic, partition=record.partition, offset=record.offset)
    return cast(EventT[Any], SimpleNamespace(value=record.value, message=where))


def events(records: list[SourceRecord]) -> list[EventT[Any]]:
    return [event(r) for r in records]


@pytest.fixture
def table() -> BatchTable:
    faust_app = faust.App("kam-unit-slices", broker="kafka://127.0.0.1:9", store="memory://")
    return batch_table(faust_app, "state", partitions=2, key_type=str, value_type=bytes)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "_utcnow", lambda: NOW)


def test_a_batch_in_slices_is_its_slices_as_batches_staged_once(table: BatchTable) -> None:
    records = source_records(250)
    processor = offline_processor(simulated_accounts(CONFIG), state=table, kpi_interval=0.0)
    outcome, sent = asyncio.run(
        app._process_in_slices(processor, table, TOPICS, events(records), 100)
    )
    state: dict[str, bytes] = {}
    alone = offline_processor(simulated_accounts(CONFIG), state=state, kpi_interval=0.0)
    expected: list[OutputRecord] = []
    for first in (0, 100, 200):
        piece = alone.process(records[first : first + 100], now=NOW)
        apply_state(state, piece)
        expected += app._records(TOPICS, piece)
    assert dict(table) == state
    assert sent == expected and outcome.alerts and outcome.kpi_updates
    assert len(outcome.enriched) + len(outcome.dead_letters) == 250
    changelog = table.changelog(outcome.state_writes)
    assert len({(r.partition, r.key) for r in changelog}) == len(changelog)
    for partition in (0, 1):
        assert list(outcome.state_writes[partition])[-1] == f"{partition}/offset"


@pytest.mark.parametrize(("size", "turns"), [(100, 2), (250, 0), (0, 0)])
def test_the_loop_is_served_between_two_slices(
    table: BatchTable, size: int, turns: int
) -> None:
    processor = offline_processor(simulated_accounts(CONFIG), state=table, kpi_interval=0.0)
    served: list[int] = []

    async def batch_beside_another_task() -> None:
        async def other() -> None:
            while True:
                served.append(1)
                await asyncio.sleep(0)

        beside = asyncio.ensure_future(other())
        await asyncio.sleep(0)  # it runs once before the batch starts
        await app._process_in_slices(processor, table, TOPICS, events(source_records(250)), size)
        beside.cancel()

    asyncio.run(batch_beside_another_task())
    assert len(served) == 1 + turns
