"""Writer path vs one bulk insert of the same rows into chdb, side by side in one run.

writer path: raw enriched-touchpoint JSON -> SourceMessage -> conversion -> per-partition
batches -> writer.write (deduplicated insert; ClickHouse parses the JSON into touchpoints).
bulk: the same touchpoints rows (read back from the writer's table, untimed) in one insert.

    .venv/bin/python bench/bench_sink.py [--rows 50000] [--batch 10000] [--partitions 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from schemas import TOUCHPOINT_ADAPTER, AccountContext, AccountTier, EnrichedTouchpoint
from sinks.batching import TopicPartition
from sinks.chdb_backend import ChdbBackend
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.migrate import apply_migrations
from sinks.rows import COLUMNS, SourceMessage

TOPIC = "kam.touchpoints.enriched"
KAFKA_TIME = datetime(2026, 3, 2, tzinfo=UTC)


EVENTS: list[tuple[str, str, dict[str, object]]] = [
    ("delivery_completed", "wms", {"shipment_id": "s1", "promised_at": "2026-03-01T18:00:00Z",
     "delivered_at": "2026-03-02T09:30:00Z", "ordered_qty": 10, "delivered_qty": 8}),
    ("ticket_opened", "helpdesk", {"ticket_id": "t1", "priority": "urgent"}),
    ("invoice_issued", "erp", {"invoice_id": "i1", "amount": 1200.5,
     "due_at": "2026-04-01T00:00:00Z"}),
    ("order_placed", "crm", {"order_id": "o1", "amount": 5400.0}),
]  # fmt: skip


def template(event_type: str, system: str, payload: dict[str, object]) -> bytes:
    """An enriched touchpoint as the stream workers publish it, with placeholders for ids."""
    event = TOUCHPOINT_ADAPTER.validate_python(
        {"event_type": event_type, "event_id": "EVENT-ID", "account_id": "ACCOUNT",
         "occurred_at": "2026-03-02T09:30:00.125Z", "source_system": system, "payload": payload}
    )  # fmt: skip
    enriched = EnrichedTouchpoint(
        event=event,
        account=AccountContext(tier=AccountTier.KEY, name="Acme", kam_owner="ana", kam_team="x"),
        bad_experience=None,
        processed_at=KAFKA_TIME,
    )
    return enriched.model_dump_json().encode()


def messages(rows: int) -> list[bytes]:
    templates = [template(*event) for event in EVENTS]
    return [
        templates[i % len(templates)]
        .replace(b"EVENT-ID", f"ev-{i}".encode())
        .replace(b"ACCOUNT", f"acct-{i % 500}".encode())
        for i in range(rows)
    ]


def run_writer(store: ChdbBackend, values: list[bytes], *, batch: int, partitions: int) -> float:
    writer = ClickHouseWriter(
        backend=store, routes={TOPIC: "enriched"}, group_id="bench", max_rows=batch,
        max_seconds=3600,
    )  # fmt: skip
    started = time.perf_counter()
    for index, value in enumerate(values):
        partition, offset = index % partitions, index // partitions
        message = SourceMessage(
            topic=TOPIC, partition=partition, offset=offset, value=value, timestamp=KAFKA_TIME
        )
        now = time.monotonic()
        for ready in writer.add(TopicPartition(TOPIC, partition), offset, message, now=now):
            writer.write(ready)
    for ready in writer.drain():
        writer.write(ready)
    return time.perf_counter() - started


def stored_rows(store: ChdbBackend) -> list[list[object]]:
    """The rows the writer stored in ``touchpoints``, in insert column order."""
    columns = ", ".join(COLUMNS["touchpoints"])
    return store.query(f"SELECT {columns} FROM touchpoints ORDER BY source_offset").rows


def run_bulk(store: ChdbBackend, rows: list[list[object]]) -> float:
    started = time.perf_counter()
    store.insert("touchpoints", COLUMNS["touchpoints"], rows, dedup_token="bulk")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    values = messages(args.rows)
    with tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        # one chdb data directory per process: two databases side by side in it
        writer_store = ChdbBackend(path=Path(tmp) / "chdb", database="bench_writer")
        bulk_store = ChdbBackend(path=Path(tmp) / "chdb", database="bench_bulk")
        try:
            apply_migrations(writer_store)
            apply_migrations(bulk_store)
            writer_seconds = run_writer(
                writer_store, values, batch=args.batch, partitions=args.partitions
            )
            bulk_seconds = run_bulk(bulk_store, stored_rows(writer_store))
            for store in (writer_store, bulk_store):
                stored = store.query("SELECT count() FROM touchpoints").rows[0][0]
                assert stored == args.rows, f"{store.database}: {stored} rows"
        finally:
            writer_store.close()
            bulk_store.close()
    writer_rate, bulk_rate = args.rows / writer_seconds, args.rows / bulk_seconds
    print(f"rows={args.rows} batch={args.batch} partitions={args.partitions}")
    print(f"writer path (convert + batch + insert): {writer_rate:>10,.0f} rows/s")
    print(f"single bulk insert of the same rows:    {bulk_rate:>10,.0f} rows/s")
    print(f"ratio writer/bulk: {writer_rate / bulk_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
