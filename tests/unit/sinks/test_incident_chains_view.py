"""The ``incident_chains`` view (migration 0009): the chain alerts of the worker's core, written
by the sink's writer into chdb, read back with the chain unpacked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from sinks.batching import TopicPartition
from sinks.chdb_backend import ChdbBackend
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.migrate import apply_migrations
from sinks.rows import SourceMessage
from sinks.runner import sink_routes
from tests.unit.sinks.analyst_dataset import TOPICS
from tests.unit.streams.chain_story import STORY, chain_alert_key, explained, order_story
from tests.unit.streams.test_pipeline import NOW, apply, processor, records

START = NOW - timedelta(hours=30)
EXPLAINS = """
SELECT c.order_id, a.alert_key, argMax(a.status, a.updated_at) AS status
FROM kam.incident_chains AS c ARRAY JOIN c.explains AS key
JOIN kam.alerts AS a ON a.alert_key = key GROUP BY c.order_id, a.alert_key
ORDER BY a.alert_key"""
"""The per-event alerts a chain explains (docs/alert-rules.md), with their latest state."""


def test_the_view_holds_the_latest_state_of_each_chain_with_its_links(tmp_path: Path) -> None:
    docs = [orjson.dumps(doc) for doc in order_story("acme", START)]
    state: dict[str, bytes] = {}
    worker = processor(state)
    values: list[bytes] = []
    for batch, first in ((docs[:-1], 0), (docs[-1:], len(docs) - 1)):
        outcome = worker.process(records(batch, first_offset=first), now=NOW)
        apply(state, outcome)
        values += [value for _, _, value in outcome.alert_records]
    store = ChdbBackend(path=tmp_path / "chdb", database="kam")
    try:
        apply_migrations(store)
        writer = ClickHouseWriter(
            backend=store, routes=sink_routes(TOPICS), group_id="g", max_rows=100, max_seconds=1
        )
        tp = TopicPartition(TOPICS.alerts, 0)
        for offset, value in enumerate(values):
            message = SourceMessage(TOPICS.alerts, 0, offset, value, datetime.now(UTC))
            for batch in writer.add(tp, offset, message, now=0.0):
                writer.write(batch)
        for batch in writer.drain():
            writer.write(batch)
        rows = store.query(
            "SELECT alert_key, order_id, status, transition, contact_points, departments,"
            " explains, summary FROM incident_chains ORDER BY alert_key"
        ).rows
        links = store.query(
            "SELECT tupleElement(link, 'event_id'), tupleElement(link, 'contact_point'),"
            " tupleElement(link, 'rule'), tupleElement(link, 'severity')"
            " FROM incident_chains ARRAY JOIN chain AS link"
        ).rows
        explains = store.query(EXPLAINS).rows
        stored = store.query(
            "SELECT count() FROM alerts WHERE rule = 'incident_chain'"
        ).rows
    finally:
        store.close()
    assert rows == [
        [
            chain_alert_key("acme"),
            "O-17",
            "firing",
            "updated",
            ["logistics", "support", "billing"],
            3,
            explained("acme"),
            STORY,
        ]
    ]
    assert links == [
        ["c-late", "logistics", "late_delivery", "critical"],
        ["c-ticket", "support", "first_response_sla_breach", "critical"],
        ["c-dispute", "billing", "invoice_disputed", "warning"],
    ]
    # The late delivery's own alert resolved (24 h quiet period) when the dispute came 26 h
    # later: the chain, not the single alert, keeps the story.
    assert explains == [
        ["O-17", "acme:billing:invoice_disputed", "firing"],
        ["O-17", "acme:logistics:late_delivery", "resolved"],
        ["O-17", "acme:support:first_response_sla_breach", "firing"],
    ]
    assert stored == [[2]]  # new (two departments), then updated (the third)
