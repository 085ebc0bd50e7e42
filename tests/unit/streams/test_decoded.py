"""Decoded KPI states kept beside the state table: served only while the table holds the bytes
they were encoded to, so a kept state can never differ from the table's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from schemas import ContactPoint
from streams.decoded import Decoded, DecodedStates
from streams.kpis import ContactPointState, KpiConfig
from streams.replay import apply_state, offline_processor
from streams.validation import SourceRecord

CONFIG = KpiConfig()


def decoded(counted: int) -> Decoded:
    state = ContactPointState(contact_point=ContactPoint.SUPPORT, config=CONFIG)
    return Decoded(state, counted, [])


def test_a_kept_state_is_served_only_for_its_own_bytes() -> None:
    cache: DecodedStates[str] = DecodedStates(4)
    entry = decoded(7)
    cache.keep("a", b"v1", entry)
    assert cache.peek("a", b"v1") is entry
    restored = b"".join([b"v", b"1"])  # equal bytes, another object (a restore)
    assert cache.peek("a", restored) is entry
    assert cache.peek("a", b"v0") is None  # the table holds other bytes: decode those
    assert cache.peek("b", b"v1") is None
    assert cache.take("a", b"v0") is None
    assert len(cache) == 0  # a take removes the entry even when it no longer matches


def test_a_taken_state_is_gone_until_kept_again() -> None:
    cache: DecodedStates[str] = DecodedStates(4)
    entry = decoded(1)
    cache.keep("a", b"v1", entry)
    assert cache.take("a", b"v1") is entry
    assert cache.peek("a", b"v1") is None  # being changed by its taker
    cache.keep("a", b"v2", entry)
    assert cache.peek("a", b"v2") is entry


def test_the_least_recently_kept_goes_first_and_zero_keeps_nothing() -> None:
    cache: DecodedStates[int] = DecodedStates(2)
    for key in (1, 2, 1, 3):  # 1 kept again after 2: 2 is the oldest when 3 comes
        cache.keep(key, b"x", decoded(key))
    kept = [cache.peek(key, b"x") for key in (1, 2, 3)]
    assert [entry and entry.counted for entry in kept] == [1, None, 3]
    assert len(cache) == 2
    cache.retain(lambda key: key != 3)
    assert len(cache) == 1
    off: DecodedStates[int] = DecodedStates(0)
    off.keep(1, b"x", decoded(1))
    assert len(off) == 0


@pytest.mark.parametrize("capacity", [1, 3, 10_000])
def test_the_pipeline_computes_the_same_with_kept_states_through_a_lost_batch(
    capacity: int,
) -> None:
    """The same records through a processor that keeps decoded states and one that decodes
    every time, with one batch whose state writes are lost (a crash before the table got
    them, then read again): the same KPI updates, alerts and table, byte for byte."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    config = SimulationConfig(seed=11, accounts=6, start=start, bad_probability=0.2)
    values = [m.value for m in islice(simulate_messages(config), 600)]
    records = [SourceRecord(v, "touchpoints", i % 2, i // 2) for i, v in enumerate(values)]
    runs = []
    for cache in (0, capacity):
        state: dict[str, bytes] = {}
        processor = offline_processor(
            simulated_accounts(config), state=state, kpi_interval=0.0, kpi_state_cache=cache
        )
        outputs = []
        for number, first in enumerate(range(0, len(records), 40)):
            now = start + timedelta(hours=2, seconds=number)
            outcome = processor.process(records[first : first + 40], now=now)
            if number == 5:  # lost: read again by the next owner of the partitions
                outcome = processor.process(records[first : first + 40], now=now)
            apply_state(state, outcome)
            outputs.append(
                ([u.model_dump_json() for u in outcome.kpi_updates], outcome.alert_records)
            )
        runs.append((outputs, dict(state)))
    assert runs[0][0] and any(updates for updates, _ in runs[0][0])
    assert runs[1] == runs[0]
