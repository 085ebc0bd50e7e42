"""A year of history replayed through the pure core, in order and shuffled: the same current
KPIs, and a number of KPI updates bounded by the span of stream time, not by the events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import islice

from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from schemas import KpiUpdate
from streams.pipeline import TouchpointProcessor
from streams.replay import apply_state, offline_processor
from streams.validation import SourceRecord

NOW = datetime(2026, 11, 30, tzinfo=UTC)
EVENTS = 8_000
BATCH = 250
DAY = 86_400.0
CONFIG = SimulationConfig(
    seed=5, accounts=12, start=NOW - timedelta(days=365), mean_gap_seconds=365 * DAY / EVENTS
)


def replay(order: list[int]) -> tuple[TouchpointProcessor, list[KpiUpdate], int]:
    """Every event in ``order`` (offsets of one partition), a batch at a time, then a tick."""
    messages = list(islice(simulate_messages(CONFIG), EVENTS))
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(CONFIG), state=state, kpi_interval=0.0, kpi_stream_interval=DAY
    )
    updates: list[KpiUpdate] = []
    too_late = 0
    records = [SourceRecord(messages[i].value, "t", 0, offset) for offset, i in enumerate(order)]
    for start in range(0, len(records), BATCH):
        outcome = processor.process(records[start : start + BATCH], now=NOW)
        apply_state(state, outcome)
        updates += outcome.kpi_updates
        too_late += outcome.too_late
    for _ in range(2):  # the stream stopped: what was held back is sent
        updates += processor.tick(now=NOW).kpi_updates
    return processor, updates, too_late


def latest(updates: list[KpiUpdate]) -> dict[tuple[str, str], KpiUpdate]:
    return {(u.account_id, str(u.contact_point)): u for u in updates}


def test_a_shuffled_year_gives_the_current_kpis_of_the_ordered_one_with_few_updates() -> None:
    in_order = replay(list(range(EVENTS)))
    shuffled_order = list(range(EVENTS))
    random.Random(7).shuffle(shuffled_order)
    shuffled = replay(shuffled_order)

    ordered_latest, shuffled_latest = latest(in_order[1]), latest(shuffled[1])
    assert ordered_latest.keys() == shuffled_latest.keys()
    assert len(ordered_latest) > 40
    # The current KPIs, as of the end of the stream, are the same whatever the order.
    end = max(u.as_of for u in in_order[1])
    assert end == max(u.as_of for u in shuffled[1])
    for account_id, contact_point in ordered_latest:
        assert in_order[0].windows_as_of(0, account_id, contact_point, end) == shuffled[
            0
        ].windows_as_of(0, account_id, contact_point, end), (account_id, contact_point)
    # Shuffled, most of the year is older than 30 days behind the stream time: too late.
    assert shuffled[2] > EVENTS // 2 and in_order[2] == 0
    # Updates are bounded by stream time (one a day per key at most), not by the events.
    keys = len(ordered_latest)
    assert len(in_order[1]) <= keys * 366
    assert len(shuffled[1]) <= len(in_order[1])
    assert len(in_order[1]) < EVENTS


def test_workers_following_the_clock_send_the_last_updates_when_the_backfill_ends() -> None:
    """The documented procedure: default ``idle_advance`` (stream time at most 5 min behind a
    clock that moves on between batches) with the stream-time throttle. The clock alone must
    not count as a moving stream, or the last updates would wait a whole interval."""
    messages = list(islice(simulate_messages(CONFIG), EVENTS))
    order = list(range(EVENTS))
    random.Random(3).shuffle(order)
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(CONFIG), state=state, kpi_interval=0.0, idle_advance=300.0,
        kpi_stream_interval=DAY,
    )  # fmt: skip
    updates: list[KpiUpdate] = []
    clock = NOW
    for start in range(0, EVENTS, BATCH):
        batch = [SourceRecord(messages[i].value, "t", 0, start + n)
                 for n, i in enumerate(order[start : start + BATCH])]  # fmt: skip
        clock += timedelta(seconds=1)
        outcome = processor.process(batch, now=clock)
        apply_state(state, outcome)
        updates += outcome.kpi_updates
    clock += timedelta(seconds=1)
    updates += processor.tick(now=clock).kpi_updates  # the backfill ended: all is sent

    end = processor.stream_now(0, clock)
    assert end == clock - timedelta(seconds=300)
    found = latest(updates)
    assert len(found) > 40
    for (account_id, contact_point), update in found.items():
        # True now: unchanged since its as_of, the whole days since the last executive
        # meeting (and the scores weighing them) included, which are sent again as they grow.
        now = processor.windows_as_of(0, account_id, contact_point, end)
        assert update.windows == processor.windows_as_of(0, account_id, contact_point,
                                                         update.as_of)  # fmt: skip
        assert update.as_of <= end and update.windows == now, (account_id, contact_point)
    assert len(updates) < EVENTS / 10
