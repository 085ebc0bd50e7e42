"""One set of migration files for one server (chdb), a replicated cluster and ClickHouse Cloud.

The rendering is pure and checked here statement by statement against the exact SQL expected.
Only the single-server rendering is executed (on chdb, the real engine embedded): chdb has no
Keeper, so Replicated engines and ``ON CLUSTER`` cannot run here. Every rendered statement of
every deployment is still parsed by ClickHouse's own parser (``formatQuery`` in chdb).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kam.settings import ClickHouseSettings
from sinks.backend import QueryResult, session_settings, sql_string
from sinks.chdb_backend import ChdbBackend
from sinks.exceptions import MigrationError
from sinks.migrate import (
    BOOKKEEPING,
    SINGLE,
    DdlTarget,
    apply_migrations,
    load_migrations,
    render,
)

CLUSTER = DdlTarget(deployment="cluster", cluster="kam_cluster")
CLOUD = DdlTarget(deployment="cloud")
KEEPER = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"

TABLE = (
    "CREATE TABLE IF NOT EXISTS {database}.t\n(\n    x UInt8\n)\nENGINE = MergeTree\n"
    "ORDER BY x\nSETTINGS non_replicated_deduplication_window = 1000\nCOMMENT 'c'"
)
REPLACING = (
    "CREATE TABLE IF NOT EXISTS {database}.accounts (id String, at DateTime64(3))\n"
    "ENGINE = ReplacingMergeTree(at)\nORDER BY id"
)
NULL_TABLE = "CREATE TABLE IF NOT EXISTS {database}.ingest (m String) ENGINE = Null"
VIEW_TO = (
    "CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.mv\nTO {database}.t\n"
    "AS SELECT toUInt8(1) AS x FROM {database}.ingest"
)
ALTER = "ALTER TABLE {database}.t\n    ADD COLUMN IF NOT EXISTS y UInt8 COMMENT 'y'"
DROP = "DROP VIEW IF EXISTS {database}.v"
INSERT = "INSERT INTO {database}.t (x) SELECT 1 WHERE (SELECT count() FROM {database}.t) = 0"
OTHER_DDL = (
    "RENAME TABLE {database}.a TO {database}.b",
    "EXCHANGE TABLES {database}.a AND {database}.b",
    "TRUNCATE TABLE IF EXISTS {database}.t SYNC",
)


def every_statement() -> list[str]:
    return [*BOOKKEEPING, *(s for m in load_migrations() for s in m.statements)]


# --- exact SQL per deployment ---------------------------------------------------------------
def test_single_server_is_the_file_with_the_database_quoted() -> None:
    assert render(TABLE, "kam") == TABLE.replace("{database}", "`kam`")
    for statement in every_statement():
        assert render(statement, "kam", SINGLE) == statement.replace("{database}", "`kam`")


def test_cluster_table_runs_on_cluster_with_a_replicated_engine() -> None:
    assert render(TABLE, "kam", CLUSTER) == (
        "CREATE TABLE IF NOT EXISTS `kam`.t ON CLUSTER 'kam_cluster'\n(\n    x UInt8\n)\n"
        f"ENGINE = ReplicatedMergeTree({KEEPER})\n"
        "ORDER BY x\nSETTINGS replicated_deduplication_window = 1000,"
        " replicated_deduplication_window_seconds = 604800\nCOMMENT 'c'"
    )


def test_cluster_engine_arguments_follow_the_keeper_path() -> None:
    assert render(REPLACING, "kam", CLUSTER) == (
        "CREATE TABLE IF NOT EXISTS `kam`.accounts ON CLUSTER 'kam_cluster'"
        " (id String, at DateTime64(3))\n"
        f"ENGINE = ReplicatedReplacingMergeTree({KEEPER}, at)\nORDER BY id"
    )
    summing = "CREATE TABLE {database}.d (n UInt64) ENGINE = SummingMergeTree() ORDER BY n"
    assert render(summing, "kam", CLUSTER) == (
        "CREATE TABLE `kam`.d ON CLUSTER 'kam_cluster' (n UInt64)"
        f" ENGINE = ReplicatedSummingMergeTree({KEEPER}) ORDER BY n"
    )


def test_cluster_keeps_other_engines_and_puts_on_cluster_after_the_object() -> None:
    on = "ON CLUSTER 'kam_cluster'"
    assert render(NULL_TABLE, "kam", CLUSTER) == (
        f"CREATE TABLE IF NOT EXISTS `kam`.ingest {on} (m String) ENGINE = Null"
    )
    assert render(VIEW_TO, "kam", CLUSTER) == (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `kam`.mv {on}\nTO `kam`.t\n"
        "AS SELECT toUInt8(1) AS x FROM `kam`.ingest"
    )
    assert render(ALTER, "kam", CLUSTER) == (
        f"ALTER TABLE `kam`.t {on}\n    ADD COLUMN IF NOT EXISTS y UInt8 COMMENT 'y'"
    )
    assert render(DROP, "kam", CLUSTER) == f"DROP VIEW IF EXISTS `kam`.v {on}"
    assert render(BOOKKEEPING[0], "kam", CLUSTER) == f"CREATE DATABASE IF NOT EXISTS `kam` {on}"
    assert [render(statement, "kam", CLUSTER) for statement in OTHER_DDL] == [
        f"RENAME TABLE `kam`.a TO `kam`.b {on}",
        f"EXCHANGE TABLES `kam`.a AND `kam`.b {on}",
        f"TRUNCATE TABLE IF EXISTS `kam`.t {on} SYNC",
    ]


def test_data_statements_are_not_run_on_cluster() -> None:
    expected = INSERT.replace("{database}", "`kam`")
    assert render(INSERT, "kam", CLUSTER) == expected
    assert render(INSERT, "kam", CLOUD) == expected


def test_cluster_name_and_keeper_path_are_quoted_literals() -> None:
    target = DdlTarget(
        deployment="cluster", cluster="{cluster}", replica_path="/ch/{uuid}", replica_name="r'1"
    )
    assert render(REPLACING, "kam", target) == (
        "CREATE TABLE IF NOT EXISTS `kam`.accounts ON CLUSTER '{cluster}'"
        " (id String, at DateTime64(3))\n"
        "ENGINE = ReplicatedReplacingMergeTree('/ch/{uuid}', 'r\\'1', at)\nORDER BY id"
    )


def test_cloud_keeps_engines_and_needs_no_on_cluster() -> None:
    assert render(TABLE, "kam", CLOUD) == (
        "CREATE TABLE IF NOT EXISTS `kam`.t\n(\n    x UInt8\n)\nENGINE = MergeTree\n"
        "ORDER BY x\nSETTINGS replicated_deduplication_window = 1000,"
        " replicated_deduplication_window_seconds = 604800\nCOMMENT 'c'"
    )
    for statement in (REPLACING, NULL_TABLE, VIEW_TO, ALTER, DROP, *BOOKKEEPING):
        assert render(statement, "kam", CLOUD) == statement.replace("{database}", "`kam`")


def test_a_packaged_table_on_a_cluster() -> None:
    (origins,) = [s for s in load_migrations()[4].statements if ".sink_origins" in s]
    rendered = render(origins, "kam", CLUSTER)
    assert rendered.startswith(
        "CREATE TABLE IF NOT EXISTS `kam`.sink_origins ON CLUSTER 'kam_cluster'\n("
    )
    assert rendered.endswith(
        ")\n"
        f"ENGINE = ReplicatedMergeTree({KEEPER})\n"
        "ORDER BY (consumer_group, topic, partition, stream, last_offset)\n"
        "TTL toDateTime(stored_at) + INTERVAL 30 DAY\n"
        "SETTINGS replicated_deduplication_window = 1000,"
        " replicated_deduplication_window_seconds = 604800\n"
        "COMMENT 'Sink bookkeeping: per batch, the highest origin version it stored per stream'"
    )


def test_what_cannot_be_rendered_is_an_error() -> None:
    with pytest.raises(MigrationError, match="engine arguments"):
        render(
            "CREATE TABLE {database}.x (a DateTime) ENGINE = ReplacingMergeTree(toDate(a))"
            " ORDER BY a",
            "kam",
            CLUSTER,
        )
    with pytest.raises(MigrationError, match="ON CLUSTER"):
        render("CREATE TABLE t (a UInt8) ENGINE = Memory", "kam", CLUSTER)
    with pytest.raises(MigrationError, match="CLICKHOUSE_CLUSTER"):
        render(TABLE, "kam", DdlTarget(deployment="cluster"))


# --- the packaged files, for every deployment --------------------------------------------------
@pytest.mark.parametrize("target", [SINGLE, CLUSTER, CLOUD], ids=lambda t: t.deployment)
def test_every_packaged_statement_parses_for_every_deployment(
    target: DdlTarget, tmp_path: Path
) -> None:
    backend = ChdbBackend(path=tmp_path / "chdb", database="parse_only")
    try:
        for statement in every_statement():
            rendered = sql_string(render(statement, "kam", target))
            # ClickHouse's parser reads it (a syntax error raises); nothing is executed
            formatted = backend.raw(f"SELECT formatQuery({rendered})", fmt="TSVRaw")
            is_ddl = not statement.lstrip().upper().startswith("INSERT")
            on_cluster = re.search(r"\bON CLUSTER `?kam_cluster`?\s", formatted) is not None
            assert on_cluster == (target is CLUSTER and is_ddl), formatted[:80]
            assert ("non_replicated_deduplication_window" in formatted) == (
                target is SINGLE and "non_replicated_deduplication_window" in statement
            )
            if target is CLUSTER and "MergeTree" in statement:
                assert "ENGINE = Replicated" in formatted, statement[:60]
        synthetic = (TABLE, REPLACING, NULL_TABLE, VIEW_TO, ALTER, DROP, INSERT, *OTHER_DDL)
        for statement in synthetic:  # the examples above, read by the same parser
            backend.raw(f"SELECT formatQuery({sql_string(render(statement, 'kam', target))})",
                        fmt="TSVRaw")  # fmt: skip
    finally:
        backend.close()


def test_single_server_ddl_runs_on_chdb_exactly_as_before(tmp_path: Path) -> None:
    """The packaged migrations applied through the renderer and, in the same engine, the files
    with only ``{database}`` replaced (the runner before deployments existed) give the same
    tables, engines, columns and settings."""
    backend = ChdbBackend(path=tmp_path / "chdb", database="kam_rendered")
    try:
        apply_migrations(backend, target=DdlTarget.from_settings(ClickHouseSettings()))
        backend.command("CREATE DATABASE IF NOT EXISTS kam_plain")
        for statement in BOOKKEEPING[1:]:
            backend.command(statement.replace("{database}", "`kam_plain`"))
        for migration in load_migrations():
            for statement in migration.statements:
                backend.command(statement.replace("{database}", "`kam_plain`"))

        def schema(database: str) -> list[list[Any]]:
            return backend.query(
                "SELECT name, engine, replaceAll(create_table_query, database, 'db')"
                f" FROM system.tables WHERE database = '{database}' ORDER BY name"
            ).rows

        rendered, plain = schema("kam_rendered"), schema("kam_plain")
        assert len(rendered) == 23
        assert rendered == plain
    finally:
        backend.close()


def test_cloud_ddl_runs_on_chdb(tmp_path: Path) -> None:
    """Cloud DDL is MergeTree DDL (Cloud turns it into SharedMergeTree on its own), so the engine
    here runs it: the replicated deduplication settings are names and values it accepts."""
    backend = ChdbBackend(path=tmp_path / "chdb", database="kam_cloud")
    try:
        assert len(apply_migrations(backend, target=CLOUD)) == len(load_migrations())
        engine = backend.query(
            "SELECT engine_full FROM system.tables"
            " WHERE database = 'kam_cloud' AND name = 'touchpoints'"
        ).rows[0][0]
        assert engine.startswith("MergeTree PARTITION BY toYYYYMM(occurred_at)")
        assert "replicated_deduplication_window = 1000" in engine
        assert "replicated_deduplication_window_seconds = 604800" in engine
    finally:
        backend.close()


class RecordingBackend:
    """Records what the runner sends; nothing is applied yet."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.inserts: list[tuple[str, list[list[Any]]]] = []

    @property
    def database(self) -> str:
        return "kam"

    def command(self, sql: str) -> None:
        self.commands.append(sql)

    def query(self, sql: str) -> QueryResult:
        return QueryResult(columns=[], types=[], rows=[])

    def raw(self, sql: str, *, fmt: str) -> str:
        return ""

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        self.inserts.append((table, [list(row) for row in rows]))

    def close(self) -> None: ...


def test_the_runner_sends_the_rendering_and_records_the_files_checksums() -> None:
    backend = RecordingBackend()
    migrations = load_migrations()
    assert apply_migrations(backend, target=CLUSTER) == migrations
    assert backend.commands == [render(s, "kam", CLUSTER) for s in every_statement()]
    assert backend.inserts == [
        ("schema_migrations", [[m.version, m.name, m.checksum]]) for m in migrations
    ]


# --- settings -------------------------------------------------------------------------------
def test_targets_from_settings() -> None:
    assert DdlTarget.from_settings(ClickHouseSettings()) == SINGLE
    cluster = ClickHouseSettings(host="ch", deployment="cluster", cluster="kam_cluster")
    assert DdlTarget.from_settings(cluster) == CLUSTER
    cloud = ClickHouseSettings(host="x.clickhouse.cloud", secure=True, deployment="cloud")
    assert DdlTarget.from_settings(cloud) == CLOUD


def test_settings_refuse_what_cannot_work(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {
        "deployment needs a ClickHouse server": {"CLICKHOUSE_DEPLOYMENT": "cluster"},
        "name of the cluster": {"CLICKHOUSE_DEPLOYMENT": "cluster", "CLICKHOUSE_HOST": "c"},
        "TLS only": {"CLICKHOUSE_DEPLOYMENT": "cloud", "CLICKHOUSE_HOST": "c"},
        "only used with CLICKHOUSE_DEPLOYMENT=cluster": {"CLICKHOUSE_CLUSTER": "kam"},
    }
    for message, env in refused.items():
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            with pytest.raises(ValidationError, match=message):
                ClickHouseSettings()


def test_session_settings_per_deployment() -> None:
    assert session_settings("single") == {}
    assert session_settings("cluster") == {
        "insert_quorum": "auto",
        "insert_quorum_parallel": 0,
        "select_sequential_consistency": 1,
    }
    assert session_settings("cloud") == {"select_sequential_consistency": 1}
