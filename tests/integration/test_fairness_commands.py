"""``kam fairness check`` and ``kam accounts review`` as a person runs them, on the real broker
with chdb: the treatment-gap alert fires once, is stored by the real sink, is not repeated,
then resolves, and the real notifier delivers both states to the KAM director's route; the
review prints the worked example of docs/tiering.md from stored events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer

from kam.processes import ServiceProcess
from kam.settings import ClickHouseSettings
from producers import TouchpointPublisher
from schemas import Alert, AlertStatus, Severity, contact_point_of
from schemas.origins import header_origin
from sinks import run_sql
from sinks.chdb_backend import ChdbBackend
from sinks.migrate import apply_migrations
from sinks.notify.local import RecordingServer
from sinks.rows import COLUMNS
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for
from tests.integration.test_cli_commands import kam, outcome
from tests.unit.sinks.test_fairness_review import ACCOUNTS, END, rendered

KEY = "portfolio:support:treatment_gap_support_first_response_p90"
P90 = "first_response_minutes_p90"


def store(pipeline: Pipeline) -> ChdbBackend:
    backend = ChdbBackend(path=Path(pipeline.env["CLICKHOUSE_CHDB_PATH"]), database="kam")
    apply_migrations(backend)
    return backend


def account(account_id: str, tier: str, score: float | None = None) -> tuple[Any, ...]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return (account_id, account_id.title(), tier, score, None, None, None, None, at, "{}",
            "kam.accounts", 0, 0)  # fmt: skip


def p90(account_id: str, value: float, at: datetime) -> tuple[Any, ...]:
    return (account_id, "support", "7d", P90, value, at, "kam.kpis", 0, 0, at,
            at - timedelta(days=7), at)  # fmt: skip


def alerts_on_topic(pipeline: Pipeline, expected: int) -> list[tuple[Alert, str | None]]:
    """Every alert on the alerts topic with its origin stream, after ``expected`` arrived."""
    consumer = Consumer({**pipeline.kafka.confluent_config(), "group.id": f"t-{id(pipeline)}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([pipeline.topics.alerts])
    found: list[tuple[Alert, str | None]] = []

    def arrived() -> bool:
        for message in consumer.consume(100, timeout=0.5):
            if message.error() is None:
                origin = header_origin(message.headers())
                found.append((Alert.model_validate_json(message.value()),
                              origin.stream if origin else None))  # fmt: skip
        return len(found) >= expected

    try:
        wait_for(arrived, timeout=30, what=f"{expected} alert(s) on the alerts topic")
        arrived()  # anything beyond the expected count
    finally:
        consumer.close()
    return found


def stored_states(pipeline: Pipeline) -> list[str]:
    clickhouse = ClickHouseSettings(chdb_path=Path(pipeline.env["CLICKHOUSE_CHDB_PATH"]))
    return run_sql(clickhouse, "SELECT status FROM kam.alerts ORDER BY updated_at", fmt="TSV",
                   wait=30).split()  # fmt: skip


def summary(strategic: str, served: str) -> str:
    return (
        f"support p90 first response (7d): strategic {strategic} vs standard 330 min (key no"
        f" data): {served}; the rule wants more than 10.0% better (3 strategic, 0 key, 3"
        " standard accounts)"
    )


def test_a_treatment_gap_fires_once_is_stored_routed_and_resolves(pipeline: Pipeline) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    backend = store(pipeline)
    tiers = {"s1": "strategic", "s2": "strategic", "s3": "strategic", "d1": "standard",
             "d2": "standard", "d3": "standard"}  # fmt: skip
    backend.insert("accounts", COLUMNS["accounts"], [account(a, t) for a, t in tiers.items()],
                   dedup_token=None)  # fmt: skip
    values = {"s1": 300.0, "s2": 330.0, "s3": 360.0, "d1": 320.0, "d2": 330.0, "d3": 340.0}
    backend.insert("kpi_snapshots", COLUMNS["kpi_snapshots"],
                   [p90(a, v, at) for a, v in values.items()], dedup_token=None)  # fmt: skip
    backend.close()
    sink = pipeline.service(["sink"], name="sink")
    with RecordingServer() as director, RecordingServer() as alertmanager:
        pipeline.service(["notify"], name="notify", env={
            "KAM_NOTIFY_CONFIG_PATH": "config/routing-demo.toml",
            "KAM_NOTIFY_INBOX_URL": director.url, "KAM_NOTIFY_INBOX_SECRET": "s",
            "KAM_NOTIFY_ALERTMANAGER_URL": alertmanager.url,
        })  # fmt: skip
        alert = fire_then_resolve(pipeline, sink, at)
        [fired, resolved] = [r.json() for r in director.wait_for(2, timeout=60)]
    assert [(b["group_key"], [(a["alert_key"], a["status"]) for a in b["alerts"]])
            for b in (fired, resolved)] == [
        ("portfolio", [(KEY, "firing")]), ("portfolio", [(KEY, "resolved")])]  # fmt: skip
    assert fired["alerts"][0]["summary"] == alert.summary


def fire_then_resolve(pipeline: Pipeline, sink: ServiceProcess, at: datetime) -> Alert:
    """Check (fires), check again (nothing new), faster answers, check (resolves)."""
    fired = kam(pipeline, "fairness", "check")
    assert outcome(fired)[:2] == (0, [
        f"treatment gap: 1 contact point x window x KPI rows, 3 rule(s), 1 alert state(s)"
        f" published to {pipeline.topics.alerts}",
        f"  firing critical {KEY}: {summary('330 min', 'strategic served no better')}",
    ])  # fmt: skip
    [(alert, origin)] = alerts_on_topic(pipeline, 1)
    assert origin == f"fairness/{KEY}"
    assert (alert.alert_key, alert.account_id, alert.tier.value, alert.kam_team, alert.rule,
            alert.status, alert.severity, alert.summary) == (
        KEY, "portfolio", "strategic", "kam-director", "treatment_gap_support_first_response_p90",
        AlertStatus.FIRING, Severity.CRITICAL, summary("330 min", "strategic served no better"),
    )  # fmt: skip
    assert alert.evidence["gap"] == 0.0 and alert.evidence["accounts"]["standard"] == 3
    assert alert.started_at == alert.updated_at
    wait_for(lambda: stored_states(pipeline) == ["firing"], what="the sink to store the alert",
             alive=[sink])  # fmt: skip

    again = kam(pipeline, "fairness", "check")
    assert outcome(again)[1][0].endswith(f"0 alert state(s) published to {pipeline.topics.alerts}")
    sink.stop()
    backend = store(pipeline)  # support now answers strategic accounts faster
    later = at + timedelta(minutes=30)
    backend.insert("kpi_snapshots", COLUMNS["kpi_snapshots"],
                   [p90("s1", 200.0, later), p90("s2", 210.0, later), p90("s3", 220.0, later)],
                   dedup_token=None)  # fmt: skip
    backend.close()
    sink = pipeline.service(["sink"], name="sink-again")

    resolved = kam(pipeline, "fairness", "check")
    text = "resolved: " + summary("210 min", "strategic served 36.4% better")
    assert outcome(resolved)[:2] == (0, [
        f"treatment gap: 1 contact point x window x KPI rows, 3 rule(s), 1 alert state(s)"
        f" published to {pipeline.topics.alerts}",
        f"  resolved critical {KEY}: {text}",
    ])  # fmt: skip
    states = alerts_on_topic(pipeline, 2)
    assert [(a.status, a.summary, a.started_at) for a, _ in states] == [
        (AlertStatus.FIRING, alert.summary, alert.started_at),
        (AlertStatus.RESOLVED, text, alert.started_at),
    ]
    wait_for(lambda: stored_states(pipeline) == ["firing", "resolved"],
             what="the sink to store the resolve", alive=[sink])  # fmt: skip
    return alert


def event(account_id: str, n: int, event_type: str, days_ago: float,
          **payload: Any) -> tuple[Any, ...]:  # fmt: skip
    at = END - timedelta(days=days_ago)
    return (
        f"{account_id}-{n}", account_id, contact_point_of(event_type).value, event_type, at,
        "erp", 1, None, orjson.dumps(payload).decode(), "standard", None, None, None, None,
        None, at, "kam.touchpoints.enriched", 0, n,
    )  # fmt: skip


def history(account_id: str, plan: list[tuple[str, int, float, dict[str, Any]]],
            total: int) -> list[tuple[Any, ...]]:  # fmt: skip
    """(event type, count, days ago, payload) blocks, padded with dispatches to ``total``."""
    rows: list[tuple[Any, ...]] = []
    for event_type, count, days_ago, payload in plan:
        for i in range(count):
            extra = payload(i) if callable(payload) else payload
            rows.append(event(account_id, len(rows), event_type, days_ago, **extra))
    while len(rows) < total:
        rows.append(event(account_id, len(rows), "shipment_dispatched", 40, shipment_id="S"))
    return rows


ORION = [  # the worked example: docs/tiering.md, tests/unit/sinks/test_fairness_review.py
    ("invoice_issued", 2, 60, {"invoice_id": "I", "amount": 300_000.0}),
    ("invoice_issued", 2, 20, {"invoice_id": "I", "amount": 200_000.0}),
    ("payment_received", 10, 30, lambda i: {"invoice_id": "I", "amount": 1.0,
                                            "days_late": 0 if i < 4 else 9}),
    ("order_placed", 10, 70, {"order_id": "O", "amount": 50_000.0}),
    ("order_placed", 8, 10, {"order_id": "O", "amount": 50_000.0}),
    ("csat_submitted", 5, 5, lambda i: {"score": 5 if i < 2 else 2}),
    ("nps_submitted", 8, 5, lambda i: {"score": (10, 9, 3, 4, 5, 6, 7, 8)[i]}),
    ("ticket_opened", 12, 15, {"ticket_id": "T"}), ("ticket_escalated", 3, 15, {"ticket_id": "T"}),
    ("invoice_disputed", 2, 15, {"invoice_id": "I"}),
    ("credit_note_issued", 1, 15, {"invoice_id": "I"}),
    ("delivery_failed", 1, 15, {"shipment_id": "S"}),
    ("return_received", 2, 15, {"shipment_id": "S"}),
]  # fmt: skip
NOVA = [
    ("invoice_issued", 2, 60, {"invoice_id": "I", "amount": 200_000.0}),
    ("invoice_issued", 3, 20, {"invoice_id": "I", "amount": 200_000.0}),
    ("payment_received", 12, 30, lambda i: {"invoice_id": "I", "amount": 1.0,
                                            "days_late": 0 if i < 11 else 3}),
    ("order_placed", 8, 70, {"order_id": "O", "amount": 55_000.0}),
    ("order_placed", 12, 10, {"order_id": "O", "amount": 55_000.0}),
    ("csat_submitted", 6, 5, {"score": 4}),
    ("ticket_opened", 4, 15, {"ticket_id": "T"}), ("delivery_failed", 1, 15, {"shipment_id": "S"}),
    ("invoice_issued", 1, 95, {"invoice_id": "old", "amount": 9e6}),  # before the horizon
]  # fmt: skip


def test_accounts_review_prints_the_worked_example_from_stored_events(
    pipeline: Pipeline,
) -> None:
    backend = store(pipeline)
    backend.insert("accounts", COLUMNS["accounts"], [
        account("ORION-01", "strategic", 81.11), account("NOVA-07", "key", 54.64)],
        dedup_token=None)  # fmt: skip
    rows = history("ORION-01", ORION, 120) + history("NOVA-07", NOVA, 91)
    backend.insert("touchpoints", COLUMNS["touchpoints"], rows, dedup_token=None)
    backend.close()
    with TouchpointPublisher(kafka=pipeline.kafka, topics=pipeline.topics) as publisher:
        for master in ACCOUNTS:
            publisher.publish_account(master)
        assert publisher.flush() == []
    # The account names come from ClickHouse: the fixtures above title-case the ids.
    expected = rendered().replace("Orion Retail", "Orion-01").replace("Nova Hotels", "Nova-07")
    result = kam(pipeline, "accounts", "review", "--end", "2026-12-01T00:00:00Z")
    assert outcome(result) == (0, expected.splitlines(), "")
