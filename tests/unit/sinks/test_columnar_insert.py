"""``insert_columns`` stores exactly what ``insert`` stores, on every table the sink writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sinks.chdb_backend import ChdbBackend, encode_columns
from sinks.migrate import apply_migrations
from sinks.rows import COLUMNS, Row, convert, failed_row
from tests.unit.sinks.samples import alert_json, dead_letter_json, enriched_json, message
from tests.unit.sinks.test_rows import KPI_UPDATE
from tests.unit.sinks.test_undeliverable_rows import record

AT = datetime(2026, 3, 2, 9, 30, 0, 125000, tzinfo=UTC)
TOUCHPOINT = ("ev-t", "acme", "logistics", "delivery_completed", AT, "wms", 1, None, "{}",
              "key", None, "ana", None, 71.5, None, AT, "enr", 0, 3)  # fmt: skip


def rows_by_table() -> dict[str, list[Row]]:
    """Rows of every table, from messages of every topic kind (bad ones included)."""
    samples = [
        ("enriched", enriched_json("ev-1")),
        ("enriched", b"not json"),
        ("enriched", enriched_json("ev-2").replace(b'"strategic"', b'"platinum"')),
        ("deadletter", dead_letter_json()),
        ("alerts", alert_json()),
        ("alerts", b'{"alert_key": "k"}'),
        ("accounts", b'{"account_id": "a1", "name": "Acme", "tier": "key", "tier_score": 80,'
                     b' "criteria": {"revenue": 1}}'),
        ("accounts", b'{"account_id": "a2", "name": "Beta", "tier": "standard"}'),
        ("kpis", KPI_UPDATE),
        ("undeliverable", record()),
    ]  # fmt: skip
    tables: dict[str, list[Row]] = {"touchpoints": [TOUCHPOINT]}
    for offset, (kind, value) in enumerate(samples):
        for table, row in convert(kind, message(value, offset=offset)):  # type: ignore[arg-type]
            tables.setdefault(table, []).append(row)
    tables["failed_events"].append(
        failed_row(message(None, offset=99), failure_type="x", detail="d", field_path=None)
    )
    return tables


@pytest.fixture
def by_rows(chdb_store: ChdbBackend) -> Iterator[ChdbBackend]:
    """A second migrated database beside ``chdb_store`` (same chdb directory)."""
    other = ChdbBackend(path=chdb_store.path, database="by_rows")
    apply_migrations(other)
    yield other
    other.close()


def contents(store: ChdbBackend, table: str) -> list[list[object]]:
    return store.query(f"SELECT * FROM {table} ORDER BY tuple(*)").rows


def test_columns_store_what_rows_store(chdb_store: ChdbBackend, by_rows: ChdbBackend) -> None:
    tables = rows_by_table()
    assert set(tables) == set(COLUMNS)
    for table, rows in tables.items():
        data = [list(column) for column in zip(*rows, strict=True)]
        chdb_store.insert_columns(table, COLUMNS[table], data, dedup_token=f"{table}:0-0")
        by_rows.insert(table, COLUMNS[table], rows, dedup_token=f"{table}:0-0")
    for table in [*COLUMNS, "touchpoints_daily"]:
        if table != "touchpoints_ingest":  # a Null table: its rows are in the others
            assert contents(chdb_store, table) == contents(by_rows, table), table
    assert chdb_store.query("SELECT count() FROM touchpoints").rows == [[2]]
    assert chdb_store.query("SELECT count() FROM failed_events").rows == [[5]]


def test_columns_arrow_cannot_type_go_as_rows(chdb_store: ChdbBackend) -> None:
    mixed = [["a", 1], ["b", "x"]]  # by column: k holds a str and an int
    assert encode_columns(["k", "v"], mixed) is None
    chdb_store.command("CREATE TABLE mixed (k String, v String) ENGINE = MergeTree ORDER BY k")
    chdb_store.insert_columns("mixed", ["k", "v"], mixed, dedup_token=None)
    assert chdb_store.query("SELECT k, v FROM mixed ORDER BY k").rows == [["1", "x"], ["a", "b"]]
