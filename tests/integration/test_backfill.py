"""``kam backfill`` of a shuffled year into a running worker, as docs/operations.md describes it.

The installed console script publishes the file; a real worker, set up as the procedure says
(throttled by stream time, windows following the clock as by default), consumes it from the
real broker. The latest KPI update of every key must equal the pure core's ground truth
(:mod:`streams.replay`, one pass over the same records partitioned as the broker does) as of
that update's ``as_of`` and still hold at the partition's last stream time; the KPI snapshot
rows the sink writes per key stay within the throttle's bound; and a second run of the command
publishes nothing.

The ground truth's clock is the test's: it judges "too late" as the worker does unless a UTC
midnight falls between the two passes (the 30-day window moves by whole days).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson

from kam.processes import kam_command
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from schemas import KpiUpdate
from sinks.rows import SourceMessage, convert
from streams.pipeline import TouchpointProcessor
from streams.replay import apply_state, offline_processor
from streams.validation import SourceRecord
from tests.integration.conftest import Pipeline
from tests.integration.helpers import java_partition, produce, wait_for

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 2_000
ACCOUNTS = 10
PARTITIONS = 4
"""Partitions of the test topics (tests/integration/conftest.py)."""
CHUNK = 500
DAY = 86_400
STREAM_INTERVAL = DAY
"""``KAM_WORKER_KPI_STREAM_INTERVAL_SECONDS``: while a partition's stream time moves, at most
one update per key per day of it."""
KPI_INTERVAL = 2.0
"""``KAM_WORKER_KPI_INTERVAL_SECONDS``: KPI flushes at least this far apart (wall clock)."""
IDLE_ADVANCE = 300.0
"""``KAM_WORKER_IDLE_ADVANCE_SECONDS`` as by default (the fixture's workers use 0)."""
Key = tuple[str, str]
Windows = dict[str, dict[str, float | None]]


@dataclass(frozen=True)
class Record:
    account_id: str
    value: bytes
    occurred_at: datetime

    @property
    def partition(self) -> int:
        return java_partition(self.account_id, PARTITIONS)


def shuffled_year(now: datetime) -> tuple[SimulationConfig, list[Record]]:
    """A year of simulated touchpoints ending before ``now``, in random order."""
    config = SimulationConfig(
        seed=17, accounts=ACCOUNTS, start=now - timedelta(days=365, hours=1),
        mean_gap_seconds=365 * DAY / EVENTS * 0.99, bad_probability=0.1,
    )  # fmt: skip
    records = [
        Record(m.key, m.value, datetime.fromisoformat(orjson.loads(m.value)["occurred_at"]))
        for m in islice(simulate_messages(config), EVENTS)
    ]
    assert max(r.occurred_at for r in records) < now
    random.Random(7).shuffle(records)
    return config, records


def ground_truth(config: SimulationConfig, records: list[Record]) -> tuple[TouchpointProcessor,
                                                                           set[Key]]:  # fmt: skip
    """The pure core after one pass over the records, in file order within each partition,
    and the keys it has KPIs for."""
    state: dict[str, bytes] = {}
    processor = offline_processor(
        simulated_accounts(config), state=state, kpi_interval=0.0, idle_advance=IDLE_ADVANCE
    )
    offsets: Counter[int] = Counter()
    batch = []
    for record in records:
        batch.append(SourceRecord(record.value, "t", record.partition, offsets[record.partition]))
        offsets[record.partition] += 1
    outcome = processor.process(batch, now=datetime.now(UTC))
    apply_state(state, outcome)
    return processor, {(u.account_id, str(u.contact_point)) for u in outcome.kpi_updates}


def kam(pipeline: Pipeline, *argv: str) -> subprocess.CompletedProcess[str]:
    """The installed console script in the project directory, with the test's topics."""
    return subprocess.run(
        [*kam_command(), *argv], env={**os.environ, **pipeline.env}, cwd=ROOT,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def kpi_updates(pipeline: Pipeline) -> list[KpiUpdate]:
    return [KpiUpdate.model_validate_json(raw) for raw in pipeline.read_all(pipeline.topics.kpis)]


def latest(updates: list[KpiUpdate]) -> dict[Key, KpiUpdate]:
    """The last update of each key (a key's updates share one partition, in order)."""
    return {(u.account_id, str(u.contact_point)): u for u in updates}


def snapshot_rows(pipeline: Pipeline, updates: list[KpiUpdate]) -> Counter[Key]:
    """``kpi_snapshots`` rows per key, as the sink converts the updates."""
    rows: Counter[Key] = Counter()
    for offset, update in enumerate(updates):
        message = SourceMessage(pipeline.topics.kpis, 0, offset, update.model_dump_json().encode(),
                                update.computed_at)  # fmt: skip
        converted = convert("kpis", message)
        assert {table for table, _ in converted} == {"kpi_snapshots"}
        rows[update.account_id, str(update.contact_point)] += len(converted)
    return rows


def assert_reported(out: list[str], history: Path, checkpoint: Path, records: list[Record], *,
                    now: datetime, topic: str) -> None:  # fmt: skip
    """The command's output: where it starts, a line per chunk, the summary, the ages."""
    times = sorted(record.occurred_at for record in records)
    old = sum(t < now - timedelta(days=30) for t in times)
    assert [re.sub(r", [\d,]+ lines/s$", ", N lines/s", line) for line in out] == [
        f"backfill: {history}, {EVENTS:,} lines (checkpoint {checkpoint})",
        *[f"backfill: line {n:,} of {EVENTS:,} ({100 * n // EVENTS}%): {n:,} published, "
          "0 rejected, N lines/s" for n in range(CHUNK, EVENTS + 1, CHUNK)],
        f"{EVENTS} lines: {EVENTS} published, 0 rejected, 0 failed (topic {topic})",
        f"event times {times[0].isoformat()} to {times[-1].isoformat()}; {old} older than the "
        "longest KPI window (30d) before now: stored, outside the KPIs of workers that follow "
        "the clock (see docs/operations.md)",
    ]  # fmt: skip
    assert old > EVENTS // 2


def test_a_shuffled_year_backfilled_gives_the_true_current_kpis_with_bounded_rows(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config, records = shuffled_year(now)
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(record.value + b"\n" for record in records))
    truth, keys = ground_truth(config, records)
    worker = pipeline.service(["worker"], name="worker", env={
        "KAM_WORKER_DATA_DIR": str(tmp_path / "worker"),
        "KAM_WORKER_KPI_STREAM_INTERVAL_SECONDS": str(STREAM_INTERVAL),
        "KAM_WORKER_KPI_INTERVAL_SECONDS": str(KPI_INTERVAL),
        "KAM_WORKER_IDLE_ADVANCE_SECONDS": str(IDLE_ADVANCE),
    })  # fmt: skip
    accounts = simulated_accounts(config)
    produce(pipeline.kafka, pipeline.topics.accounts,
            [(a.account_id.encode(), a.model_dump_json().encode()) for a in accounts])  # fmt: skip
    wait_for(lambda: worker.metric("kam_worker_account_updates_total") == ACCOUNTS,
             what="the accounts", alive=[worker], details=pipeline.worker_progress)  # fmt: skip
    checkpoints = tmp_path / "checkpoints"
    started = time.monotonic()

    backfill = kam(pipeline, "backfill", str(history), "--chunk-lines", str(CHUNK),
                   "--checkpoint-dir", str(checkpoints))  # fmt: skip

    assert (backfill.returncode, backfill.stderr) == (0, ""), backfill.stdout
    [checkpoint] = checkpoints.glob("*.json")
    assert_reported(backfill.stdout.splitlines(), history, checkpoint, records, now=now,
                    topic=pipeline.topics.touchpoints)  # fmt: skip
    wait_for(
        lambda: worker.metric("kam_worker_events_consumed_total") == EVENTS, timeout=180,
        what="every event consumed", alive=[worker], details=pipeline.worker_progress,
    )  # fmt: skip

    said: dict[Key, Windows | None] = {}
    true: dict[Key, Windows | None] = {}

    def settled() -> bool:
        found = latest(kpi_updates(pipeline))
        for key in sorted(keys):
            update = found.get(key)
            said[key] = None if update is None else update.windows
            true[key] = None if update is None else truth.windows_as_of(
                java_partition(key[0], PARTITIONS), *key, update.as_of)  # fmt: skip
        return said == true

    wait_for(settled, timeout=120, what="the latest KPI updates to equal the ground truth",
             alive=[worker], details=pipeline.worker_progress)  # fmt: skip
    seconds = time.monotonic() - started
    assert said == true
    updates = kpi_updates(pipeline)
    assert latest(updates).keys() == keys
    # Current: the latest values still hold at the partition's last stream time (its last
    # flush), the whole days since the last executive meeting and the scores weighing them
    # included: they are sent again at each whole day (docs/analysts.md).
    end = {p: max(u.as_of for u in updates if java_partition(u.account_id, PARTITIONS) == p)
           for p in range(PARTITIONS)}  # fmt: skip
    for (account_id, contact_point), update in latest(updates).items():
        partition = java_partition(account_id, PARTITIONS)
        now_true = truth.windows_as_of(partition, account_id, contact_point, end[partition])
        assert update.windows == now_true, (account_id, contact_point)

    # Rows per key: one per window x KPI of each update. Updates per key are bounded twice: by
    # the flushes (at most one per KPI_INTERVAL of wall time, and the first), and by the event
    # time the partition's events moved through (one per STREAM_INTERVAL, and the first) plus
    # the flushes while they stood still; never by the events themselves.
    span = {p: (max(r.occurred_at for r in records if r.partition == p)
                - min(r.occurred_at for r in records if r.partition == p)).total_seconds()
            for p in range(PARTITIONS)}  # fmt: skip
    flushes = seconds // KPI_INTERVAL + 1
    for key, rows in snapshot_rows(pipeline, updates).items():
        per_update = sum(len(values) for values in latest(updates)[key].windows.values())
        by_stream = span[java_partition(key[0], PARTITIONS)] // STREAM_INTERVAL + 1 + flushes
        assert rows % per_update == 0
        assert rows // per_update <= min(flushes, by_stream), (key, rows // per_update, flushes)
    assert len(updates) < EVENTS / 4, f"{len(updates)} KPI updates for {EVENTS} events"

    # Run twice: the checkpoint says the file is done; nothing is published again.
    again = kam(pipeline, "backfill", str(history), "--checkpoint-dir", str(checkpoints))
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.startswith(f"backfill: {history} (sha256 ")
    assert "nothing published" in again.stdout
    assert pipeline.size(pipeline.topics.touchpoints) == EVENTS
    print(f"\n{len(updates)} KPI updates for {EVENTS} events in {seconds:.1f}s", flush=True)
