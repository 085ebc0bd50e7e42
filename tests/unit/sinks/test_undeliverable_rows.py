"""Undeliverable notifications land in their ClickHouse table (real chdb), exactly."""

from __future__ import annotations

from datetime import UTC, datetime

from sinks.chdb_backend import ChdbBackend
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.notify.records import SourceOffset, UndeliverableNotification
from tests.unit.sinks.test_clickhouse_writer import batch_of

FIRST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAILED = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def record() -> bytes:
    return (
        UndeliverableNotification(
            notification_id="n-1",
            receiver="owner-slack",
            receiver_kind="slack",
            channel="@ana",
            group_key="acme",
            reason="retries_exhausted",
            attempts=5,
            last_error="owner-slack: HTTP 503",
            last_status=503,
            alert_keys=["acme:logistics:late_delivery"],
            dedup_keys=["acme:logistics:late_delivery"],
            account_ids=["acme"],
            alerts=[],
            sources=[SourceOffset(topic="kam.alerts", partition=1, offset=9)],
            first_attempt_at=FIRST,
            failed_at=FAILED,
        )
        .model_dump_json()
        .encode()
    )


def writer_on(store: ChdbBackend) -> ClickHouseWriter:
    return ClickHouseWriter(
        backend=store,
        routes={"und": "undeliverable"},
        group_id="g",
        max_rows=10,
        max_seconds=1.0,
    )


def test_undeliverable_notification_row(chdb_store: ChdbBackend) -> None:
    writer_on(chdb_store).write(batch_of("und", [record()]))
    assert chdb_store.query(
        "SELECT notification_id, receiver, receiver_kind, channel, reason, attempts, last_status,"
        " alert_keys, account_ids, toString(failed_at), source_topic, source_offset"
        " FROM undeliverable_notifications"
    ).rows == [
        [
            "n-1",
            "owner-slack",
            "slack",
            "@ana",
            "retries_exhausted",
            5,
            503,
            ["acme:logistics:late_delivery"],
            ["acme"],
            "2026-03-02 09:05:00.000",
            "und",
            0,
        ]
    ]


def test_a_record_without_its_keys_goes_to_failed_events(chdb_store: ChdbBackend) -> None:
    writer_on(chdb_store).write(batch_of("und", [b'{"notification_id": "n-2"}']))
    assert chdb_store.query("SELECT failure_type, field_path FROM failed_events").rows == [
        ["sink_undecodable", "receiver"]
    ]
