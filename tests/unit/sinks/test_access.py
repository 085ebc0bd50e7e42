"""``kam db migrate`` and ``kam sql`` entry points in embedded mode, without a running sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam.settings import ClickHouseSettings
from sinks import migrate, run_sql
from sinks.chdb_backend import ChdbBackend
from sinks.exceptions import ClickHouseError
from sinks.query_endpoint import QueryEndpoint, ask_endpoint, endpoint_file


def test_migrate_then_query_directly(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    assert migrate(clickhouse) == [
        "0001_core_tables",
        "0002_rollups",
        "0003_touchpoint_ingest",
        "0004_undeliverable_notifications",
        "0005_exactly_once",
    ]
    assert migrate(clickhouse) == []
    assert run_sql(clickhouse, "SELECT count() FROM touchpoints", fmt="TSV") == "0\n"


def test_stale_announcement_falls_back_to_the_directory(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    migrate(clickhouse)
    endpoint_file(clickhouse.chdb_path).write_text('{"host": "127.0.0.1", "port": 1, "pid": 1}')
    assert run_sql(clickhouse, "SELECT 40 + 2", fmt="TSV") == "42\n"


def test_endpoint_answers_and_reports_errors(tmp_path: Path) -> None:
    owner = ChdbBackend(path=tmp_path / "chdb", database="kam_ep")
    announce = tmp_path / "chdb" / "sql-endpoint.json"
    endpoint = QueryEndpoint(store=owner.reader(), port=0, announce=announce)
    endpoint.start()
    try:
        assert ask_endpoint(announce, "SELECT 'a' AS x", fmt="TSVWithNames") == "x\na\n"
        with pytest.raises(ClickHouseError) as caught:
            ask_endpoint(announce, "SELECT * FROM missing", fmt="TSV")
        assert caught.value.code == 60
    finally:
        endpoint.stop()
        owner.close()
    assert not announce.exists()
    assert ask_endpoint(announce, "SELECT 1", fmt="TSV") is None
