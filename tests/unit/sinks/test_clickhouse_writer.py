"""The writer on real chdb: exact rows, dedup of retried batches, isolation of refused rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.origins import Origin, source_origin
from sinks.batching import Batch, Cut, TopicPartition
from sinks.chdb_backend import ChdbBackend
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.exceptions import RowsRejected
from sinks.migrate import apply_migrations
from sinks.rows import SourceMessage
from tests.unit.sinks.samples import alert_json, dead_letter_json, enriched_json, message

ROUTES = {"enr": "enriched", "dlq": "deadletter", "alr": "alerts", "acc": "accounts"}


def writer_on(store: ChdbBackend) -> ClickHouseWriter:
    return ClickHouseWriter(
        backend=store, routes=ROUTES, group_id="g1", max_rows=100, max_seconds=1.0
    )  # type: ignore[arg-type]


def batch_of(
    topic: str, values: list[bytes], first: int = 0, cut: Cut = "time"
) -> Batch[SourceMessage]:
    batch: Batch[SourceMessage] = Batch(topic=topic, partition=0, started_at=0.0, cut=cut)
    for offset, value in enumerate(values, start=first):
        batch.offsets.append(offset)
        batch.items.append(message(value, offset=offset, topic=topic, partition=0))
    return batch


def test_same_batch_written_twice_is_stored_once(chdb_store: ChdbBackend) -> None:
    writer = writer_on(chdb_store)
    batch = batch_of("enr", [enriched_json(f"ev-{i}", bad=i % 2 == 0) for i in range(5)])
    writer.write(batch)
    writer.write(batch)  # a retry after a lost acknowledgement
    rows = chdb_store.query(
        "SELECT event_id, source_offset FROM touchpoints ORDER BY source_offset"
    ).rows
    assert rows == [[f"ev-{i}", i] for i in range(5)]
    daily = chdb_store.query(
        "SELECT toString(day), contact_point, sum(events), sum(bad_experiences)"
        " FROM touchpoints_daily GROUP BY day, account_id, contact_point"
    ).rows
    assert daily == [["2026-03-02", "logistics", 5, 3]]
    assert chdb_store.query(
        "SELECT consumer_group, topic, partition, first_offset, last_offset FROM sink_batches"
    ).rows == [["g1", "enr", 0, 0, 4]]
    assert writer.recorded_cuts(TopicPartition("enr", 0), committed=0) == [4]
    assert writer.recorded_cuts(TopicPartition("enr", 0), committed=5) == []


def test_size_cut_batches_are_not_recorded(chdb_store: ChdbBackend) -> None:
    writer_on(chdb_store).write(batch_of("enr", [enriched_json("ev-0")], cut="size"))
    assert chdb_store.query("SELECT count() FROM touchpoints").rows == [[1]]
    assert chdb_store.query("SELECT count() FROM sink_batches").rows == [[0]]


def test_touchpoints_are_parsed_and_checked_by_clickhouse(chdb_store: ChdbBackend) -> None:
    writer = writer_on(chdb_store)
    values = [enriched_json(f"ev-{i}") for i in range(6)]
    values[4] = enriched_json("ev-4", tier="platinum")  # not an Enum8 element
    values[1] = b"not json"
    writer.write(batch_of("enr", values, first=10))
    writer.write(batch_of("enr", values, first=10))  # retried: stored once
    [row] = chdb_store.query(
        "SELECT * EXCEPT (payload), toString(occurred_at), toString(processed_at), payload"
        " FROM touchpoints WHERE source_offset = 10"
    ).rows
    assert row[:4] == ["ev-0", "acme", "logistics", "delivery_completed"]
    assert row[5:] == [
        "wms", 1, "tr-9", "strategic", "Acme", "ana", "iberia", 71.5, "late and short delivery",
        "2026-03-02 09:30:05.000", "enr", 0, 10, "2026-03-02 09:30:00.125",
        "2026-03-02 09:30:05.000",
        '{"shipment_id":"sh-1","promised_at":"2026-03-01T18:00:00Z","delivered_at":'
        '"2026-03-02T09:30:00Z","ordered_qty":10,"delivered_qty":8,"damaged_qty":0}',
    ]  # fmt: skip
    stored = chdb_store.query("SELECT source_offset FROM touchpoints ORDER BY source_offset").rows
    assert stored == [[10], [12], [13], [15]]
    failed = chdb_store.query(
        "SELECT failure_type, detail, field_path, source_offset, read_topic,"
        " base64Decode(original), toString(received_at) FROM failed_events ORDER BY source_offset"
    ).rows
    assert failed == [
        ["sink_undecodable", "not JSON", None, 11, "enr", "not json", "2026-03-02 09:31:00.000"],
        ["sink_rejected", "account.tier: missing or invalid", "account.tier", 14, "enr",
         values[4].decode(), "2026-03-02 09:31:00.000"],
    ]  # fmt: skip


def test_rows_clickhouse_refuses_are_isolated(chdb_store: ChdbBackend) -> None:
    writer = writer_on(chdb_store)
    values = [alert_json(updated_minute=i) for i in range(5)]
    values[3] = values[3].replace(b'"severity":"critical"', b'"severity":"apocalyptic"')
    writer.write(batch_of("alr", values))
    assert chdb_store.query("SELECT source_offset FROM alerts ORDER BY source_offset").rows == [
        [0], [1], [2], [4]
    ]  # fmt: skip
    [[failure_type, field_path, offset, detail]] = chdb_store.query(
        "SELECT failure_type, field_path, source_offset, detail FROM failed_events"
    ).rows
    assert (failure_type, field_path, offset) == ("sink_rejected", "severity", 3)
    assert "Unknown element 'apocalyptic'" in detail


def test_dead_letters_alerts_and_accounts(chdb_store: ChdbBackend) -> None:
    writer = writer_on(chdb_store)
    writer.write(batch_of("dlq", [dead_letter_json()]))
    writer.write(batch_of("alr", [alert_json("firing"), alert_json("resolved", updated_minute=30)]))
    writer.write(
        batch_of(
            "acc",
            [
                b'{"account_id": "acme", "name": "Acme", "tier": "key",'
                b' "updated_at": "2026-01-01T00:00:00Z"}',
                b'{"account_id": "acme", "name": "Acme", "tier": "strategic",'
                b' "updated_at": "2026-02-01T00:00:00Z", "criteria": {"growth": 40}}',
            ],
        )
    )
    assert chdb_store.query(
        "SELECT failure_type, detail, source_topic, source_partition, source_offset,"
        " base64Decode(original), toString(received_at), read_topic FROM failed_events"
    ).rows == [
        ["not_json", "expected value at line 1", "kam.touchpoints", 2, 41, "{oops",
         "2026-03-02 09:30:00.125", "dlq"],
    ]  # fmt: skip
    assert chdb_store.query(
        "SELECT status, toString(updated_at), event_ids FROM alerts ORDER BY updated_at"
    ).rows == [
        ["firing", "2026-03-02 10:00:00.000", ["ev-1", "ev-2"]],
        ["resolved", "2026-03-02 10:30:00.000", ["ev-1", "ev-2"]],
    ]
    assert chdb_store.query("SELECT account_id, tier, attributes FROM accounts FINAL").rows == [
        ["acme", "strategic", '{"criteria":{"growth":40}}']
    ]
    assert chdb_store.query(
        "SELECT tier, toString(updated_at) FROM account_tier_history ORDER BY updated_at"
    ).rows == [["key", "2026-01-01 00:00:00.000"], ["strategic", "2026-02-01 00:00:00.000"]]


def originated(
    topic: str, values: list[tuple[bytes, Origin | None]], first: int
) -> Batch[SourceMessage]:
    batch = batch_of(topic, [value for value, _ in values], first=first)
    batch.items = [
        item._replace(origin=origin) for item, (_, origin) in zip(batch.items, values, strict=True)
    ]
    return batch


def source(offset: int, partition: int = 3) -> Origin:
    return source_origin("enriched", "kam.touchpoints", partition, offset)


def test_outputs_a_restarted_worker_sends_again_are_stored_once(chdb_store: ChdbBackend) -> None:
    first = [(enriched_json(f"ev-{i}"), source(i)) for i in range(4)]
    writer_on(chdb_store).write(originated("enr", first, first=0))
    # The worker crashed after sending ev-0..3 and sends ev-2..5 again, at new offsets, mixed
    # with a message from another source partition and one that says no origin.
    again = [
        (enriched_json("ev-2"), source(2)),
        (enriched_json("other-0"), source(0, partition=4)),
        (enriched_json("ev-3"), source(3)),
        (enriched_json("ev-4"), source(4)),
        (enriched_json("ev-4"), source(4)),  # twice within one batch
        (enriched_json("plain"), None),
        (enriched_json("ev-5"), source(5)),
    ]
    restarted = writer_on(chdb_store)  # a new sink process: versions come from sink_origins
    batch = originated("enr", again, first=4)
    restarted.write(batch)
    restarted.write(batch)  # retried: the same rows and tokens, stored once
    rows = chdb_store.query(
        "SELECT event_id, source_offset FROM touchpoints ORDER BY source_offset"
    ).rows
    assert rows == [
        ["ev-0", 0], ["ev-1", 1], ["ev-2", 2], ["ev-3", 3],
        ["other-0", 5], ["ev-4", 7], ["plain", 9], ["ev-5", 10],
    ]  # fmt: skip
    stored = chdb_store.query(
        "SELECT stream, max((major, minor)) FROM sink_origins GROUP BY stream ORDER BY stream"
    ).rows
    assert stored == [
        ["enriched/kam.touchpoints/3", [5, 0]],
        ["enriched/kam.touchpoints/4", [0, 0]],
    ]


def test_a_crash_between_rows_and_versions_stores_the_batch_once(chdb_store: ChdbBackend) -> None:
    batch = originated("enr", [(enriched_json(f"ev-{i}"), source(i)) for i in range(3)], first=0)
    writer_on(chdb_store).write(batch)
    chdb_store.command("TRUNCATE TABLE sink_origins")  # as if the process died before them
    writer_on(chdb_store).write(batch)  # the restarted sink reads the same batch again
    assert chdb_store.query("SELECT count() FROM touchpoints").rows == [[3]]


class RowsOnly(ChdbBackend):
    """chdb refusing every columnar insert: the writer then sends the same rows row by row."""

    refused = 0

    def insert_columns(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]], **kw: Any
    ) -> None:
        self.refused += 1
        raise RowsRejected("refused for this test")


def test_columnar_and_row_inserts_store_the_same_tables(chdb_store: ChdbBackend) -> None:
    values: list[bytes | None] = [enriched_json(f"ev-{i}", bad=i % 3 == 0) for i in range(8)]
    values[1], values[2], values[3] = b"not json", None, b"\xff\xfe"
    values[5] = enriched_json("ev-5", tier="platinum")
    batch = batch_of("enr", values, first=20)  # type: ignore[arg-type]
    writer_on(chdb_store).write(batch)
    rows_only = RowsOnly(path=chdb_store.path, database="rows_only")
    try:
        apply_migrations(rows_only)
        writer_on(rows_only).write(batch)
        writer_on(rows_only).write(batch)  # retried: stored once on this path too
        assert rows_only.refused == 2
        for table in ("touchpoints", "failed_events", "touchpoints_daily"):
            sql = f"SELECT * FROM {table} ORDER BY tuple(*)"
            assert chdb_store.query(sql).rows == rows_only.query(sql).rows, table
        assert rows_only.query("SELECT count() FROM sink_batches").rows == [[1]]
    finally:
        rows_only.close()
    assert chdb_store.query("SELECT count() FROM touchpoints").rows == [[4]]
    assert chdb_store.query(
        "SELECT failure_type, source_offset FROM failed_events ORDER BY source_offset"
    ).rows == [
        ["sink_undecodable", 21], ["sink_undecodable", 22], ["sink_undecodable", 23],
        ["sink_rejected", 25],
    ]  # fmt: skip
