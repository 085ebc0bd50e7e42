"""A year of history through the pure core, shuffled against in order (issue: backfills).

No Kafka: the same records are processed a batch at a time in both orders, side by side. The
target is a shuffled backfill no slower than an ordered one, with the KPI updates bounded by
the span of stream time (see ``KAM_WORKER_KPI_STREAM_INTERVAL_SECONDS``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import islice

from bench.common import Result, replay_core
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from streams.replay import offline_processor
from streams.validation import SourceRecord

DAY = 86_400.0
BATCH = 1_000


def _replay(values: list[bytes], config: SimulationConfig, now: datetime) -> tuple[float, int]:
    """(events/s, KPI updates) of one pass over ``values`` in their order."""
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(config), state=state, kpi_interval=0.0, kpi_stream_interval=3600.0
    )
    records = [SourceRecord(v, "t", 0, offset) for offset, v in enumerate(values)]
    run = replay_core(processor, state, records, batch=BATCH, now=now)
    return run.rate(len(values)), run.kpi_updates


def run(*, events: int = 60_000, accounts: int = 200) -> list[Result]:
    now = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(
        seed=3, accounts=accounts, start=now - timedelta(days=365),
        mean_gap_seconds=365 * DAY / events,
    )  # fmt: skip
    values = [m.value for m in islice(simulate_messages(config), events)]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    ordered_rate, ordered_updates = _replay(values, config, now)
    shuffled_rate, shuffled_updates = _replay(shuffled, config, now)
    print(
        f"backfill: in order {ordered_rate:,.0f}/s ({ordered_updates:,} KPI updates), "
        f"shuffled {shuffled_rate:,.0f}/s ({shuffled_updates:,} KPI updates)",
        flush=True,
    )
    return [
        Result(
            metric="backfill of a year, shuffled vs in order (pure core)",
            measured=shuffled_rate, unit="events/s", baseline=ordered_rate, target=1.0,
        ),
        Result(
            metric="backfill KPI updates per event, shuffled (in order as baseline)",
            measured=shuffled_updates / events, unit="updates/event",
            baseline=ordered_updates / events, target=1.0, direction="at_most",
        ),
    ]  # fmt: skip
