"""``kam fairness check`` and ``kam accounts review``: thin I/O around the pure cores.

The check reads the ``treatment_gap`` view and the latest state of each treatment-gap alert
from ClickHouse, judges the rules (:func:`sinks.fairness.gaps.evaluate`) and publishes the new
alert states to the alerts topic, where the sink stores them and the notifier routes them
(the KAM director's route matches their ``kam_team``). The review reads the
``account_reciprocity`` view and the declared master data from the accounts topic.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from kam.settings import ClickHouseSettings, KafkaSettings, TopicSettings
from producers.accounts.kafka_io import publish, read_state
from producers.tiering import TierDecision, TieringConfig, decide_account_tier
from schemas.alerts import Alert
from schemas.origins import ORIGIN_HEADER, Origin
from sinks.access import run_sql
from sinks.backend import QueryResult, parse_json_compact
from sinks.fairness import metrics
from sinks.fairness.config import FairnessConfig, ReviewConfig
from sinks.fairness.gaps import evaluate
from sinks.fairness.render import render_review
from sinks.fairness.review import review
from sinks.fairness.store import Query, read_alert_states, read_gaps, read_signals

ORIGIN_STREAM = "fairness"


def clickhouse_query(clickhouse: ClickHouseSettings) -> Query:
    """Queries through ``kam sql``'s path: the running sink's endpoint in chdb mode."""

    def query(sql: str) -> QueryResult:
        return parse_json_compact(run_sql(clickhouse, sql, fmt="JSONCompact", wait=30).encode())

    return query


def alert_origin(alert: Alert) -> Origin:
    """A republished state (same key and time) is dropped by the sink as a repeat."""
    millis = int(alert.updated_at.timestamp() * 1000)
    return Origin(f"{ORIGIN_STREAM}/{alert.alert_key}", (millis, 0))


def publish_alerts(kafka: KafkaSettings, topics: TopicSettings, alerts: Sequence[Alert],
                   *, timeout: float = 30.0) -> None:  # fmt: skip
    records = [(topics.alerts, a.account_id, a.model_dump_json().encode()) for a in alerts]
    headers: list[list[tuple[str, str | bytes | None]]] = [
        [(ORIGIN_HEADER, alert_origin(a).encode())] for a in alerts
    ]
    if records:
        publish(kafka, records, timeout=timeout, headers=headers)


def check_once(
    *, query: Query, database: str, config: FairnessConfig, kafka: KafkaSettings,
    topics: TopicSettings, now: datetime, out: TextIO,
) -> list[Alert]:  # fmt: skip
    """One pass: judge every rule, publish the alert states it gives, print them."""
    rows = read_gaps(query, database)
    metrics.observe(rows)
    gaps = config.treatment_gap
    previous = read_alert_states(query, database, gaps.alerts.account_id)
    states = evaluate(gaps, rows, previous, now=now)
    publish_alerts(kafka, topics, states)
    print(f"treatment gap: {len(rows)} contact point x window x KPI rows, "
          f"{len(gaps.rules)} rule(s), {len(states)} alert state(s) published to "
          f"{topics.alerts}", file=out)  # fmt: skip
    for alert in states:
        print(f"  {alert.status.value} {alert.severity.value} {alert.alert_key}: "
              f"{alert.summary}", file=out)  # fmt: skip
    return states


def check_command(
    *, clickhouse: ClickHouseSettings, config: FairnessConfig, kafka: KafkaSettings,
    topics: TopicSettings, out: TextIO, every: float | None = None,
    stop: threading.Event | None = None,
) -> int:  # fmt: skip
    """``kam fairness check [--every S]``: one pass, or one every ``every`` s until ``stop``."""
    query = clickhouse_query(clickhouse)
    stop = stop or threading.Event()
    while True:
        now = datetime.now(UTC)  # to the millisecond, as ClickHouse stores alert times
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        check_once(query=query, database=clickhouse.database, config=config, kafka=kafka,
                   topics=topics, now=now, out=out)  # fmt: skip
        out.flush()
        if every is None or stop.wait(every):
            return 0


def tier_decisions(kafka: KafkaSettings, topics: TopicSettings, tiering: TieringConfig,
                   ) -> dict[str, TierDecision]:  # fmt: skip
    """The tiering model's decision for every account on the accounts topic."""
    state = read_state(kafka, topics, timeout=30.0).state
    return {
        account_id: decide_account_tier(
            account, config=tiering, decided_at=account.updated_at or datetime.now(UTC)
        )
        for account_id, account in state.accounts.items()
    }


def review_text(query: Query, database: str, config: ReviewConfig, *, end: datetime,
                decisions: dict[str, TierDecision]) -> str:  # fmt: skip
    """The ranked review of every account with events in the horizon before ``end``."""
    signals = read_signals(query, database, end=end, horizon_days=config.horizon_days)
    judged = sum(s.events >= config.min_events for s in signals)
    findings = review(signals, config)
    return render_review(findings, config=config, end=end, decisions=decisions,
                         accounts=judged)  # fmt: skip
