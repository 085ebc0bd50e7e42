"""Kill a worker mid-stream, or share the partitions between two: the results do not change.

The expected results come from the worker's pure core run once over the same events, without
any crash: final KPI values per account x contact point, and the event-rule alert keys.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from kam.processes import ServiceProcess
from producers.simulator import SimulatedMessage, SimulationConfig, simulate_messages
from producers.simulator import simulated_accounts as make_accounts
from schemas import Alert, DeadLetter, EnrichedTouchpoint, KpiUpdate
from streams.pipeline import TouchpointProcessor
from streams.replay import apply_state, offline_processor
from streams.validation import SourceRecord
from tests.integration.conftest import Pipeline
from tests.integration.helpers import committed_offsets, java_partition, produce, wait_for

EVENTS = 1_500
PARTITIONS = 4
"""Partitions of the test topics (tests/integration/conftest.py)."""
JUDGE_SECONDS = 60.0
"""KPI rules judge at steps of stream time, so their alert states follow from the data alone."""
FAST_KPIS = {
    "KAM_WORKER_KPI_INTERVAL_SECONDS": "0.5",
    "KAM_WORKER_TICK_SECONDS": "0.5",
    "KAM_WORKER_KPI_JUDGE_SECONDS": str(JUDGE_SECONDS),
}
RECOVERY_SECONDS = 30
"""Kill to first new output: well above the worker's typical few seconds (target < 15 s)."""
Key = tuple[str, str]
Windows = dict[str, dict[str, float | None]]


@pytest.fixture(scope="module")
def dataset() -> tuple[SimulationConfig, list[SimulatedMessage]]:
    now = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(
        seed=11,
        accounts=12,
        start=now - timedelta(hours=6),
        mean_gap_seconds=12.0,
        bad_probability=0.1,
    )
    return config, list(islice(simulate_messages(config), EVENTS))


class Truth:
    """The pure core after one crash-free pass: the KPIs of every key as of any stream time."""

    def __init__(self, processor: TouchpointProcessor, keys: set[Key]) -> None:
        self.processor = processor
        self.keys = keys

    def at(self, latest: dict[Key, tuple[datetime, Windows]]) -> dict[Key, Windows | None]:
        """Each key's windows as of the ``as_of`` of its latest update (``None``: no update)."""
        return {
            key: self.processor.windows_as_of(
                java_partition(key[0], PARTITIONS), key[0], key[1], latest[key][0]
            )
            if key in latest
            else None
            for key in sorted(self.keys)
        }


@dataclass(frozen=True)
class Expected:
    """What one crash-free pass of the pure core makes of the events."""

    truth: Truth
    event_alerts: dict[str, AlertEnd]
    """The final state of every alert raised by single events."""
    kpi_alerts: dict[str, AlertEnd]
    """The final state of every alert raised by KPI rules."""
    enriched: set[str]
    """Event ids of every valid touchpoint."""
    dead_letters: set[tuple[int, int]]
    """(partition, offset) of every invalid message."""


def _expected(config: SimulationConfig, messages: list[SimulatedMessage]) -> Expected:
    """The ground truth of the outputs, the KPIs and the event-rule alerts."""
    state: dict[str, bytes] = {}
    processor = offline_processor(
        make_accounts(config), state=state, kpi_interval=0.0, kpi_judge_step=JUDGE_SECONDS
    )
    # Partitioned as the broker does (windows end at each partition's stream time).
    offsets: dict[int, int] = {}
    records = []
    for m in messages:
        partition = java_partition(m.key, PARTITIONS)
        offset = offsets[partition] = offsets.get(partition, -1) + 1
        records.append(SourceRecord(m.value, "t", partition, offset))
    outcome = processor.process(records, now=datetime.now(UTC))
    apply_state(state, outcome)
    keys = {(u.account_id, str(u.contact_point)) for u in outcome.kpi_updates}
    return Expected(
        truth=Truth(processor, keys),
        event_alerts=final_alert_states(outcome.alerts, by_event=True),
        kpi_alerts=final_alert_states(outcome.alerts, by_event=False),
        enriched={e.event.event_id for e in outcome.enriched},
        dead_letters={(d.source_partition, d.source_offset) for d in outcome.dead_letters},
    )


def _every_event_out(pipeline: Pipeline, expected: Expected, alive: list[ServiceProcess]) -> None:
    """Wait until every valid event is enriched and every invalid one dead-lettered.

    By identity, not by count: a record sent again after a crash must not stand in for an
    event never processed.
    """

    def outputs() -> tuple[set[str], set[tuple[int, int]]]:
        enriched = {
            EnrichedTouchpoint.model_validate_json(raw).event.event_id
            for raw in pipeline.read_all(pipeline.topics.enriched)
        }
        letters = {
            (letter.source_partition, letter.source_offset)
            for letter in map(
                DeadLetter.model_validate_json, pipeline.read_all(pipeline.topics.deadletter)
            )
        }
        return enriched, letters

    found: list[tuple[set[str], set[tuple[int, int]]]] = []

    def complete() -> bool:
        found[:] = [outputs()]
        return found[0] == (expected.enriched, expected.dead_letters)

    try:
        wait_for(complete, timeout=90, what="every event out", alive=alive,
                 details=pipeline.worker_progress)  # fmt: skip
        report = ""
    except AssertionError as timed_out:  # the difference is asserted below, with the report
        report = str(timed_out)
    enriched, letters = found[0]
    assert (expected.enriched - enriched, enriched - expected.enriched) == (set(), set()), report
    assert (expected.dead_letters - letters, letters - expected.dead_letters) == (set(), set())


def _publish_accounts(pipeline: Pipeline, config: SimulationConfig) -> None:
    accounts = make_accounts(config)
    produce(
        pipeline.kafka,
        pipeline.topics.accounts,
        [(a.account_id.encode(), a.model_dump_json().encode()) for a in accounts],
    )


def _publish_events(pipeline: Pipeline, messages: list[SimulatedMessage]) -> None:
    produce(
        pipeline.kafka, pipeline.topics.touchpoints, [(m.key.encode(), m.value) for m in messages]
    )


def _final_kpis(pipeline: Pipeline) -> dict[Key, tuple[datetime, Windows]]:
    """(as_of, windows) of the latest KPI update per key (a key lands on one partition)."""
    latest: dict[Key, tuple[datetime, Windows]] = {}
    for raw in pipeline.read_all(pipeline.topics.kpis):
        update = KpiUpdate.model_validate_json(raw)
        latest[update.account_id, str(update.contact_point)] = (update.as_of, update.windows)
    return latest


AlertEnd = tuple[str, str, str]
"""(status, severity, started_at) of an alert's latest record."""


def _by_event(alert: Alert) -> bool:
    return alert.evidence.get("kind") == "event"


def final_alert_states(alerts: Iterable[Alert], *, by_event: bool) -> dict[str, AlertEnd]:
    """The latest record of each alert raised by single events (``by_event``) or by KPI rules.

    A crash-free run and one with crashes agree on these: the lifecycle runs on stream time
    and KPI rules judge at steps of it (``KAM_WORKER_KPI_JUDGE_SECONDS``); what a record
    counts (bad events, the value) is paced by time, so it is not compared.
    """
    latest: dict[str, Alert] = {}
    for alert in (a for a in alerts if _by_event(a) == by_event):  # a resent one is not newer
        known = latest.get(alert.alert_key)
        if known is None or alert.updated_at >= known.updated_at:
            latest[alert.alert_key] = alert
    return {
        key: (str(alert.status), str(alert.severity), alert.started_at.isoformat())
        for key, alert in latest.items()
    }


def _alerts(pipeline: Pipeline) -> Iterator[Alert]:
    for raw in pipeline.read_all(pipeline.topics.alerts):
        yield Alert.model_validate_json(raw)


def _settle(pipeline: Pipeline, truth: Truth) -> tuple[dict[Key, Windows | None], ...]:
    """Wait until the latest KPI update of every key equals the ground truth as of its
    ``as_of`` (or time out); returns (what the updates say, the truth) to compare."""
    found: list[dict[Key, Windows | None]] = [{}, {}]

    def matches() -> bool:
        latest = _final_kpis(pipeline)
        found[0] = {key: latest[key][1] if key in latest else None for key in sorted(truth.keys)}
        found[1] = truth.at(latest)
        return found[0] == found[1]

    with contextlib.suppress(AssertionError):  # compared by the caller, difference shown
        wait_for(matches, timeout=90, what="the final KPI updates")
    return found[0], found[1]


@pytest.mark.parametrize(
    "first_commits",
    [False, True],
    ids=["killed-before-its-first-commit", "killed-after-committing"],
)
def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    pipeline: Pipeline,
    dataset: tuple[SimulationConfig, list[SimulatedMessage]],
    first_commits: bool,
) -> None:
    config, messages = dataset
    expected = _expected(config, messages)
    env = {**FAST_KPIS, "KAM_WORKER_BATCH_SIZE": "50"}
    commits = {"KAM_WORKER_COMMIT_INTERVAL_SECONDS": "0.2" if first_commits else "3600"}
    first = pipeline.service(
        ["worker"],
        name="first",
        env={**env, **commits, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "w")},
    )
    _publish_accounts(pipeline, config)
    wait_for(
        lambda: first.metric("kam_worker_account_updates_total") == config.accounts,
        what="the accounts",
        alive=[first],
        details=pipeline.worker_progress,
    )
    later = 2 * EVENTS // 3  # the rest is published after the kill: the kill is mid-stream
    _publish_events(pipeline, messages[:later])

    def committed() -> dict[int, int | None]:
        return committed_offsets(
            pipeline.kafka, pipeline.env["KAM_WORKER_APP_ID"], pipeline.topics.touchpoints,
            PARTITIONS,
        )  # fmt: skip

    wait_for(
        lambda: (
            first.metric("kam_worker_events_consumed_total") >= EVENTS // 3
            and (not first_commits or None not in committed().values())
        ),
        what="a third of the events" + (", committed on every partition" * first_commits),
        alive=[first],
        details=pipeline.worker_progress,
    )
    first.kill()
    killed = time.monotonic()
    processed_before_kill = pipeline.size(pipeline.topics.enriched)
    assert 0 < processed_before_kill < EVENTS
    offsets = set(committed().values())
    assert None not in offsets if first_commits else offsets == {None}

    _publish_events(pipeline, messages[later:])
    second = pipeline.service(
        ["worker"], name="second", env={**env, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "w")}
    )
    wait_for(  # counted once the broker has the batch's outputs: the first new output
        lambda: second.metric("kam_worker_events_valid_total") > 0,
        timeout=RECOVERY_SECONDS,
        what="the first output after the restart",
        alive=[second],
        details=pipeline.worker_progress,
    )
    print(f"\nkill to first new output: {time.monotonic() - killed:.1f}s", flush=True)
    _every_event_out(pipeline, expected, alive=[second])

    said, true = _settle(pipeline, expected.truth)
    assert said == true
    alerts = list(_alerts(pipeline))
    assert expected.event_alerts, "the run raises event-level alerts"
    assert final_alert_states(alerts, by_event=True) == expected.event_alerts
    assert final_alert_states(alerts, by_event=False) == expected.kpi_alerts
    starts = {(a.alert_key, a.started_at) for a in alerts if _by_event(a)}
    assert len({key for key, _ in starts}) == len(starts), "an alert re-fired with a new start"


def test_two_workers_give_the_same_results_as_one(
    pipeline: Pipeline, dataset: tuple[SimulationConfig, list[SimulatedMessage]]
) -> None:
    config, messages = dataset
    expected = _expected(config, messages)
    workers = [
        pipeline.service(
            ["worker"],
            name=name,
            env={**FAST_KPIS, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / name)},
        )
        for name in ("one", "two")
    ]
    wait_for(
        lambda: all(w.metric("kam_worker_assigned_partitions") == 2 for w in workers),
        timeout=90,
        what="the 4 partitions split 2 + 2",
        alive=workers,
        details=pipeline.worker_progress,
    )
    _publish_accounts(pipeline, config)
    wait_for(
        lambda: (
            sum(w.metric("kam_worker_account_updates_total") for w in workers) == config.accounts
        ),
        what="the accounts",
        alive=workers,
        details=lambda: (
            "account updates by worker: "
            + str([w.metric("kam_worker_account_updates_total") for w in workers])
            + "\n" + pipeline.worker_progress()
        ),
    )
    _publish_events(pipeline, messages)
    wait_for(
        lambda: sum(w.metric("kam_worker_events_consumed_total") for w in workers) == EVENTS,
        timeout=120,
        what="every event consumed",
        alive=workers,
        details=pipeline.worker_progress,
    )

    assert all(w.metric("kam_worker_events_consumed_total") > 0 for w in workers)

    _every_event_out(pipeline, expected, alive=workers)
    # No rebalance during the run: nothing is processed twice.
    assert pipeline.size(pipeline.topics.enriched) == len(expected.enriched)

    said, true = _settle(pipeline, expected.truth)
    assert said == true
    alerts = list(_alerts(pipeline))
    assert final_alert_states(alerts, by_event=True) == expected.event_alerts
    assert final_alert_states(alerts, by_event=False) == expected.kpi_alerts
