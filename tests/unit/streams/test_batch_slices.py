"""A large batch is processed a slice at a time with the event loop served in between: the
combined outcome is that of the slices processed as batches of their own, its state staged in
the table once per key, and its records those of the slices in order.

The Faust app is built but never started (no broker is contacted); the events are stand-ins
with the fields the worker reads (value, topic, partition, offset).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import islice
from types import SimpleNamespace
from typing import Any, cast

import faust
import pytest
import uvloop
from faust.types import EventT

from kam.settings import TopicSettings
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from streams import app
from streams.outputs import OutputRecord
from streams.pipeline import BatchOutcome, TouchpointProcessor
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


@pytest.mark.parametrize("loop", [asyncio.new_event_loop, uvloop.new_event_loop])
@pytest.mark.parametrize(("size", "slices"), [(100, 3), (250, 1), (0, 1)])
def test_a_timer_due_during_a_slice_runs_before_the_next_slice(
    table: BatchTable,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    slices: int,
    loop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """A timer 1 us away (the loop-lag probe, Faust's timers) is due when a slice ends: it
    runs before the next slice, not after the whole batch."""
    processor = offline_processor(simulated_accounts(CONFIG), state=table, kpi_interval=0.0)
    order: list[str] = []
    process = processor.process

    def noted(records: Sequence[SourceRecord], *, now: datetime) -> BatchOutcome:
        order.append("slice")
        return process(records, now=now)

    monkeypatch.setattr(processor, "process", noted)

    async def batch_beside_a_timer() -> None:
        async def timer() -> None:
            while True:
                await asyncio.sleep(1e-6)
                order.append("timer")

        beside = asyncio.ensure_future(timer())
        await asyncio.sleep(0)  # the timer task starts: it sleeps, due during the first slice
        await app._process_in_slices(processor, table, TOPICS, events(source_records(250)), size)
        beside.cancel()

    with asyncio.Runner(loop_factory=loop) as runner:
        runner.run(batch_beside_a_timer())
    slice_runs = "".join("s" if step == "slice" else "t" for step in order).split("t")
    assert order.count("slice") == slices
    assert all(len(run) <= 1 for run in slice_runs)


class Flush:
    """A processor whose KPI flush has ``slices`` slices left, each costing 2 s of ``clock``."""

    def __init__(self, slices: int, clock: list[float]) -> None:
        self.left = slices
        self.clock = clock
        self.flush_in_ticks = False

    @property
    def flushing(self) -> bool:
        return self.left > 0

    def tick(self, *, now: datetime) -> BatchOutcome:
        self.left -= 1
        self.clock[0] += 2.0
        return BatchOutcome()


@pytest.mark.parametrize(("rest", "rests"), [(1.0, [3.0, 3.0]), (0.0, [0.0, 0.0])])
def test_the_timer_rests_between_two_slices_of_a_flush(rest: float, rests: list[float]) -> None:
    """Each slice holds the worker 3 s (2 s computing, 1 s writing): the flush then rests
    ``rest`` times that before the next, and not after its last slice."""
    clock = [0.0]
    flush = Flush(3, clock)
    emitted: list[BatchOutcome] = []
    slept: list[float] = []

    async def emit(outcome: BatchOutcome) -> None:
        clock[0] += 1.0
        emitted.append(outcome)

    async def sleep(seconds: float) -> None:
        assert flush.flush_in_ticks  # batches in the rests leave the flush to the timer
        slept.append(seconds)
        clock[0] += seconds

    asyncio.run(app._tick_through_the_flush(
        cast(TouchpointProcessor, flush), asyncio.Lock(), emit, rest=rest,
        clock=lambda: clock[0], sleep=sleep,
    ))  # fmt: skip
    assert (len(emitted), slept, flush.flushing) == (3, rests, False)
    assert not flush.flush_in_ticks  # the next flush starts in a batch again
