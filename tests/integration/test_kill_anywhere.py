"""SIGKILL the worker and the sink at random moments, restart each like a supervisor, and
restart the broker once: ClickHouse ends with exactly one row per source record, and KPIs
equal to a crash-free pass.

``make test`` runs a bounded plan (1,200 simulated events, about 5% invalid, 3 kills and the
broker restart); ``make soak`` a longer one (``KAM_SOAK_EVENTS``, ``KAM_SOAK_KILLS``,
``KAM_SOAK_SEED``). The module runs its own broker so that restarting it disturbs no other test.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson
import pytest

from kam.localkafka import local_kafka, restart_local_kafka
from kam.processes import ServiceProcess
from kam.settings import ClickHouseSettings
from producers.simulator import SimulatedMessage, SimulationConfig, simulate_messages
from schemas import Alert, AlertStatus
from sinks import run_sql
from sinks.exceptions import StoreLocked
from sinks.notify.local import RecordingServer
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for
from tests.integration.test_worker_recovery import (
    JUDGE_SECONDS,
    Expected,
    Key,
    Truth,
    Windows,
    _expected,
    _publish_accounts,
    _publish_events,
    final_alert_states,
)

pytestmark = pytest.mark.integration

EVENTS = int(os.environ.get("KAM_SOAK_EVENTS", "1200"))
KILLS = int(os.environ.get("KAM_SOAK_KILLS", "3"))
SEED = int(os.environ.get("KAM_SOAK_SEED", "11"))
"""``make soak`` raises these; ``make test`` runs the bounded defaults."""
GAP_SECONDS = 12.0
"""Mean simulated gap between events; the run starts far enough back to end in the past."""
SCALE = max(1.0, EVENTS / 1200)
"""Waits grow with the run: a soak stores more, after more restarts."""
FAST = {
    "KAM_WORKER_KPI_JUDGE_SECONDS": str(JUDGE_SECONDS),
    "KAM_WORKER_KPI_INTERVAL_SECONDS": "0.5",
    "KAM_WORKER_TICK_SECONDS": "0.5",
    "KAM_WORKER_BATCH_SIZE": "40",
    "KAM_SINK_BATCH_MAX_ROWS": str(max(30, EVENTS // 40)),  # many batch boundaries
    "KAM_SINK_BATCH_MAX_SECONDS": "0.3",
    # A service restarted while the broker restarts waits for it, as under a supervisor's
    # start budget, rather than exiting after the default 10 s.
    "KAFKA_CONNECT_TIMEOUT_SECONDS": "90",
}


def kill_plan(rng: random.Random, *, broker: bool) -> list[str]:
    """What dies at each step: the worker first, then the worker, the sink or the notifier;
    the broker restarts once, at a step the seed picks, when the module runs its own."""
    plan = ["worker", *(rng.choice(["worker", "sink", "notifier"]) for _ in range(KILLS - 1))]
    if broker:
        plan.insert(rng.randint(1, len(plan)), "broker")
    return plan


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Where this module's broker runs (``None``: ``KAFKA_BOOTSTRAP_SERVERS`` is used)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return None  # an external cluster is not ours to restart
    return tmp_path_factory.mktemp("broker")


@pytest.fixture(scope="module")
def kafka_bootstrap(broker_dir: Path | None) -> Iterator[str]:
    """This module's own broker (overrides the suite's), so it can be restarted mid-run."""
    with local_kafka(directory=broker_dir) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
def dataset() -> tuple[SimulationConfig, list[SimulatedMessage]]:
    now = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(
        seed=23,
        accounts=10,
        start=now - timedelta(seconds=EVENTS * GAP_SECONDS * 1.2),  # every event in the past
        mean_gap_seconds=GAP_SECONDS,
        bad_probability=0.1,
        invalid_fraction=0.05,
    )
    return config, list(islice(simulate_messages(config), EVENTS))


class Supervised:
    """A service restarted at once after each SIGKILL, like a process supervisor would."""

    def __init__(self, start: Callable[[int], ServiceProcess]) -> None:
        self._start = start
        self.lives = 0
        self.process = self._next()

    def _next(self) -> ServiceProcess:
        self.lives += 1
        return self._start(self.lives)

    def kill_and_restart(self) -> None:
        self.process.kill()
        self.process = self._next()


def _sql(pipeline: Pipeline, sql: str) -> list[list[object]]:
    clickhouse = ClickHouseSettings(chdb_path=pipeline.workdir / "chdb")
    text = run_sql(clickhouse, sql, fmt="JSONCompactEachRow")
    return [orjson.loads(line) for line in text.splitlines() if line]


def test_worker_and_sink_killed_mid_stream_store_every_record_once(
    pipeline: Pipeline,
    dataset: tuple[SimulationConfig, list[SimulatedMessage]],
    broker_dir: Path | None,
) -> None:
    with contextlib.ExitStack() as stack:
        _run_and_check(pipeline, dataset, broker_dir, stack)


def _run_and_check(
    pipeline: Pipeline,
    dataset: tuple[SimulationConfig, list[SimulatedMessage]],
    broker_dir: Path | None,
    stack: contextlib.ExitStack,
) -> None:
    config, messages = dataset
    valid = [m for m in messages if m.invalid is None]
    invalid = [m for m in messages if m.invalid is not None]
    assert len(invalid) > 20
    expected = _expected(config, messages)
    truth = expected.truth

    def start_worker(life: int) -> ServiceProcess:
        env = {**FAST, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "w")}
        return pipeline.service(["worker"], name=f"worker-{life}", env=env)

    def start_sink(life: int) -> ServiceProcess:
        return pipeline.service(["sink"], name=f"sink-{life}", env=FAST)

    hook = stack.enter_context(RecordingServer())
    routing = _routing(pipeline.workdir / "routing.toml", hook.url)

    def start_notifier(life: int) -> ServiceProcess:
        env = {
            "KAM_NOTIFY_CONFIG_PATH": str(routing),
            "KAM_NOTIFY_GROUP_ID": "kill-notifier",
            "KAFKA_CONNECT_TIMEOUT_SECONDS": FAST["KAFKA_CONNECT_TIMEOUT_SECONDS"],
        }
        return pipeline.service(["notify"], name=f"notifier-{life}", env=env)

    worker, sink = Supervised(start_worker), Supervised(start_sink)
    notifier = Supervised(start_notifier)
    services = {"worker": worker, "sink": sink, "notifier": notifier}
    _publish_accounts(pipeline, config)
    wait_for(
        lambda: worker.process.metric("kam_worker_account_updates_total") == config.accounts,
        what="the accounts",
        alive=[worker.process],
    )
    _publish_events(pipeline, messages)

    rng = random.Random(SEED)
    plan = kill_plan(rng, broker=broker_dir is not None)
    for victim in plan:
        if victim == "broker":
            time.sleep(rng.uniform(0.2, 2.0))
            assert broker_dir is not None
            restart_local_kafka(broker_dir)  # SIGTERM, then the same port and data
            continue
        service = services[victim]
        if victim == "worker":  # it owns partitions again, so it is (or may be) at work
            wait_for(
                lambda: worker.process.metric("kam_worker_assigned_partitions") > 0,
                timeout=90,
                what="the worker's partitions",
                alive=[worker.process],
            )
        time.sleep(rng.uniform(0.2, 2.0))  # a random moment of its work
        service.kill_and_restart()

    def stored() -> tuple[int, int] | None:
        try:
            rows = _sql(
                pipeline,
                "SELECT (SELECT count() FROM touchpoints), (SELECT count() FROM failed_events)",
            )
        except StoreLocked:  # the restarted sink is not serving SQL yet
            return None
        return int(rows[0][0]), int(rows[0][1])  # type: ignore[call-overload]

    wait_for(
        lambda: stored() == (len(valid), len(invalid)),
        timeout=180 * SCALE,
        what=f"{len(valid)} touchpoints and {len(invalid)} failed events",
        alive=[worker.process, sink.process],
        details=lambda: (
            f"stored {stored()}, worker consumed "
            f"{worker.process.metric('kam_worker_events_consumed_total'):.0f} in this life\n"
            + pipeline.worker_progress()
        ),
    )

    def settled() -> bool:
        try:
            said, true = _compared(pipeline, truth)
        except StoreLocked:
            return False
        return said == true

    with contextlib.suppress(AssertionError):  # compared below, with the difference shown
        wait_for(settled, timeout=120 * SCALE, what="the final KPI values", alive=[sink.process])
    _assert_every_alert_notified(pipeline, hook, notifier.process)
    _assert_alerts_as_without_crashes(pipeline, expected)
    sent = _stop_once_alerts_stored(pipeline, worker.process, sink.process, notifier.process)
    assert {name: service.lives for name, service in services.items()} == {
        name: 1 + plan.count(name) for name in services
    }
    assert pipeline.size(pipeline.topics.enriched) > len(valid), "no output was sent twice"

    _assert_stored_once(pipeline, valid, invalid, alerts=sent)
    said, true = _compared(pipeline, truth)
    assert {k: (v, true[k]) for k, v in said.items() if v != true[k]} == {}


def _stop_once_alerts_stored(
    pipeline: Pipeline, worker: ServiceProcess, sink: ServiceProcess, notifier: ServiceProcess
) -> int:
    """Stop the worker, then the sink and the notifier once the sink has stored as many alert
    rows as there are distinct alert states on the alerts topic (copies sent again are equal
    bytes), or its wait ran out; that number."""
    worker.stop()
    sent = len(set(pipeline.read_all(pipeline.topics.alerts)))

    def stored() -> int | None:
        try:
            return int(_sql(pipeline, "SELECT count() FROM alerts")[0][0])  # type: ignore[call-overload]
        except StoreLocked:
            return None

    with contextlib.suppress(AssertionError):  # compared by the caller, the difference shown
        wait_for(
            lambda: stored() == sent, timeout=60 * SCALE, what=f"{sent} alert states stored",
            alive=[sink],
        )  # fmt: skip
    sink.stop()
    notifier.stop()
    return sent


def _assert_stored_once(
    pipeline: Pipeline,
    valid: list[SimulatedMessage],
    invalid: list[SimulatedMessage],
    *,
    alerts: int,
) -> None:
    """One row per event id, per dead letter and per alert state (``alerts`` distinct ones
    were sent)."""
    ids = _sql(pipeline, "SELECT event_id, count() FROM touchpoints GROUP BY event_id")
    assert {row[0]: row[1] for row in ids} == {m.event.event_id: 1 for m in valid if m.event}
    letters = _sql(
        pipeline,
        "SELECT source_partition, source_offset, count() FROM failed_events"
        " GROUP BY source_partition, source_offset",
    )
    assert len(letters) == len(invalid) and all(row[2] == 1 for row in letters)
    assert sorted(
        str(row[0]) for row in _sql(pipeline, "SELECT failure_type FROM failed_events")
    ) == sorted(str(m.invalid) for m in invalid)
    assert _sql(pipeline, "SELECT count() FROM alerts") == [[alerts]]
    # Every state of a key has its own updated_at (a state stored twice would tie too), so the
    # latest state, as docs/analysts.md queries it, is the topic's.
    ties = "SELECT alert_key FROM alerts GROUP BY alert_key, updated_at HAVING count() > 1"
    assert _sql(pipeline, ties) == []
    current = "SELECT alert_key, toString(argMax(status, updated_at)) FROM alerts GROUP BY 1"
    assert dict(_sql(pipeline, current)) == _final_alert_states(pipeline)  # type: ignore[arg-type]


def _assert_alerts_as_without_crashes(pipeline: Pipeline, expected: Expected) -> None:
    """Every alert, of an event or a KPI rule, ends in the state a crash-free pass of the core
    gives it."""
    alerts = [Alert.model_validate_json(v) for v in pipeline.read_all(pipeline.topics.alerts)]
    assert expected.event_alerts and expected.kpi_alerts, "the run raises both kinds of alerts"
    assert final_alert_states(alerts, by_event=True) == expected.event_alerts
    assert final_alert_states(alerts, by_event=False) == expected.kpi_alerts


def _assert_every_alert_notified(
    pipeline: Pipeline, hook: RecordingServer, notifier: ServiceProcess
) -> None:
    """The webhook got the final state of every alert on the alerts topic (none lost)."""
    final = _final_alert_states(pipeline)
    assert final, "the run raised alerts"
    with contextlib.suppress(AssertionError):  # compared below, with the difference shown
        wait_for(
            lambda: _notified(hook) == final,
            timeout=60 * SCALE,
            what="a notification of every alert's final state",
            alive=[notifier],
        )
    notified = _notified(hook)
    differing = {key: (notified.get(key), final.get(key)) for key in set(final) | set(notified)}
    assert {key: pair for key, pair in differing.items() if pair[0] != pair[1]} == {}


def _routing(path: Path, hook: str) -> Path:
    """A routing file sending every alert to the test's webhook at once."""
    path.write_text(f"""
[defaults]
group_wait = "1s"
[delivery]
max_attempts = 3
initial_backoff = "50ms"
max_backoff = "200ms"
timeout = "5s"
[receivers.hook]
kind = "webhook"
url = "{hook}/kam"
secret = "kill-anywhere"
[default_route]
receivers = ["hook"]
""")
    return path


def _final_alert_states(pipeline: Pipeline) -> dict[str, str]:
    """The status of every alert's latest state on the alerts topic."""
    latest: dict[str, Alert] = {}
    for alert in map(Alert.model_validate_json, pipeline.read_all(pipeline.topics.alerts)):
        known = latest.get(alert.alert_key)
        if known is None or alert.updated_at >= known.updated_at:
            latest[alert.alert_key] = alert
    return {key: str(alert.status) for key, alert in latest.items()}


def _notified(hook: RecordingServer) -> dict[str, str]:
    """The status of the latest state of every alert the webhook received."""
    latest: dict[str, tuple[datetime, str]] = {}
    for request in hook.requests:
        for item in request.json()["alerts"]:
            moment = datetime.fromisoformat(item["updated_at"])
            known = latest.get(item["alert_key"])
            if known is None or moment >= known[0]:
                latest[item["alert_key"]] = (moment, str(AlertStatus(item["status"])))
    return {key: status for key, (_, status) in latest.items()}


def _compared(pipeline: Pipeline, truth: Truth) -> tuple[dict[Key, object], dict[Key, object]]:
    """The latest KPI rows per key in ClickHouse and the ground truth as of their ``as_of``
    (windows without data left out of both: their rows are NULL)."""
    latest = _latest_kpis(pipeline)
    true = truth.at(latest)
    said = {key: latest[key][1] if key in latest else None for key in sorted(truth.keys)}
    return said, {key: _without_nulls(windows) for key, windows in true.items()}


def _without_nulls(windows: Windows | None) -> Windows | None:
    if windows is None:
        return None
    kept = {w: {k: v for k, v in values.items() if v is not None} for w, values in windows.items()}
    return {w: values for w, values in kept.items() if values}


def _latest_kpis(pipeline: Pipeline) -> dict[Key, tuple[datetime, Windows]]:
    """(as_of, values) of the latest KPI update per account x contact point in
    ``kpi_snapshots`` (its rows share ``as_of`` and ``computed_at``; NULL rows left out)."""
    rows = _sql(
        pipeline,
        "SELECT account_id, contact_point, window, kpi, value, as_of FROM kpi_snapshots"
        " WHERE (account_id, contact_point, computed_at) IN (SELECT account_id, contact_point,"
        " max(computed_at) FROM kpi_snapshots GROUP BY account_id, contact_point)",
    )
    latest: dict[Key, tuple[datetime, Windows]] = {}
    for account_id, contact_point, window, kpi, value, as_of in rows:
        key = (str(account_id), str(contact_point))
        moment = datetime.fromisoformat(str(as_of)).replace(tzinfo=UTC)
        windows = latest.setdefault(key, (moment, {}))[1]
        if value is not None:
            windows.setdefault(str(window), {})[str(kpi)] = float(value)  # type: ignore[arg-type]
    return latest
