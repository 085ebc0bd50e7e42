"""Migrations: file parsing, ordering, idempotence and change detection, on real chdb."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinks.chdb_backend import ChdbBackend
from sinks.exceptions import MigrationError
from sinks.migrate import (
    apply_migrations,
    load_migrations,
    render,
    set_health_window,
    split_statements,
)


def test_split_statements_drops_comments_and_splits_at_semicolons() -> None:
    text = "-- header\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\n-- two\nSELECT 1;\n"
    assert split_statements(text) == ("CREATE TABLE a (x UInt8)\nENGINE = Memory", "SELECT 1")


def test_unterminated_statement_is_an_error() -> None:
    with pytest.raises(MigrationError):
        split_statements("SELECT 1;\nSELECT 2")


def test_packaged_migrations_are_ordered_by_version() -> None:
    migrations = load_migrations()
    assert [(m.version, m.name) for m in migrations][:2] == [(1, "core_tables"), (2, "rollups")]


def test_render_quotes_the_database() -> None:
    assert render("CREATE TABLE {database}.t", "kam_test") == "CREATE TABLE `kam_test`.t"
    with pytest.raises(ValueError):
        render("x", "kam; DROP TABLE t")


def test_files_are_applied_in_version_order(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    # 0002 reads the table 0001 creates: only the version order makes it work
    (folder / "0002_fill.sql").write_text(
        "INSERT INTO {database}.steps SELECT max(n) + 1 FROM {database}.steps;\n"
    )
    (folder / "0001_create.sql").write_text(
        "CREATE TABLE IF NOT EXISTS {database}.steps (n UInt8) ENGINE = MergeTree ORDER BY n;\n"
        "INSERT INTO {database}.steps VALUES (1);\n"
    )
    (folder / "notes.txt").write_text("not a migration")
    backend = ChdbBackend(path=tmp_path / "chdb", database="ordered")
    try:
        migrations = load_migrations(folder)
        assert [m.version for m in migrations] == [1, 2]
        assert [m.version for m in apply_migrations(backend, migrations)] == [1, 2]
        assert apply_migrations(backend, migrations) == []
        assert backend.query("SELECT n FROM ordered.steps ORDER BY n").rows == [[1], [2]]
        recorded = backend.query("SELECT version, name FROM schema_migrations ORDER BY version")
        assert recorded.rows == [[1, "create"], [2, "fill"]]
    finally:
        backend.close()


def test_changed_applied_migration_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    script = folder / "0001_create.sql"
    script.write_text("CREATE TABLE IF NOT EXISTS {database}.t (n UInt8) ENGINE = Memory;\n")
    backend = ChdbBackend(path=tmp_path / "chdb", database="changed")
    try:
        apply_migrations(backend, load_migrations(folder))
        script.write_text("CREATE TABLE IF NOT EXISTS {database}.t (n UInt16) ENGINE = Memory;\n")
        with pytest.raises(MigrationError, match="0001_create changed"):
            apply_migrations(backend, load_migrations(folder))
    finally:
        backend.close()


def test_packaged_schema_is_idempotent(chdb_store: ChdbBackend) -> None:
    assert apply_migrations(chdb_store) == []
    tables = chdb_store.query(
        "SELECT name, engine FROM system.tables WHERE database = 'kam' ORDER BY name"
    ).rows
    assert tables == [
        ["account_health_current", "View"],
        ["account_reciprocity", "View"],
        ["account_tier_history", "MergeTree"],
        ["accounts", "ReplacingMergeTree"],
        ["alerts", "MergeTree"],
        ["failed_events", "MergeTree"],
        ["incident_chains", "View"],
        ["kam_settings", "ReplacingMergeTree"],
        ["kpi_catalogue", "ReplacingMergeTree"],
        ["kpi_snapshots", "MergeTree"],
        ["schema_migrations", "MergeTree"],
        ["sink_batches", "MergeTree"],
        ["sink_origins", "MergeTree"],
        ["touchpoints", "MergeTree"],
        ["touchpoints_accept_mv", "MaterializedView"],
        ["touchpoints_daily", "SummingMergeTree"],
        ["touchpoints_daily_mv", "MaterializedView"],
        ["touchpoints_ingest", "Null"],
        ["touchpoints_parse_mv", "MaterializedView"],
        ["touchpoints_parsed", "Null"],
        ["touchpoints_refuse_mv", "MaterializedView"],
        ["treatment_gap", "View"],
        ["undeliverable_notifications", "MergeTree"],
    ]
    undocumented = chdb_store.query(
        "SELECT table, name FROM system.columns WHERE database = 'kam' AND comment = ''"
        " AND table NOT IN (SELECT name FROM system.tables WHERE database = 'kam'"
        " AND engine IN ('View', 'MaterializedView'))"
    ).rows
    assert undocumented == []


def test_the_health_view_shows_the_configured_window(chdb_store: ChdbBackend) -> None:
    columns = ("account_id", "contact_point", "window", "kpi", "value", "computed_at",
               "source_topic", "source_partition", "source_offset", "as_of")  # fmt: skip
    at = datetime(2026, 3, 2, tzinfo=UTC)
    chdb_store.insert(
        "kpi_snapshots",
        columns,
        [
            ["acme", "overall", window, "experience_score", value, at, "k", 0, 0, at]
            for window, value in (("30d", 70.0), ("7d", 40.0), ("1h", None))
        ],
        dedup_token=None,
    )
    view = "SELECT window, experience_score FROM account_health_current"
    assert chdb_store.query(view).rows == [["30d", 70.0]]
    set_health_window(chdb_store, "7d")
    assert chdb_store.query(view).rows == [["7d", 40.0]]
    set_health_window(chdb_store, "1h")
    assert chdb_store.query(view).rows == [["1h", None]]
