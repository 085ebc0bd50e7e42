"""``kam db migrate`` and ``kam sql`` entry points in embedded mode, without a running sink."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from kam.locks import ExclusiveLock
from kam.settings import ClickHouseSettings
from sinks import migrate, run_sql
from sinks.access import open_chdb, owner_lock_path
from sinks.chdb_backend import ChdbBackend
from sinks.exceptions import ClickHouseError, StoreLocked
from sinks.query_endpoint import QueryEndpoint, ask_endpoint, endpoint_file


def test_migrate_then_query_directly(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    assert migrate(clickhouse) == [
        "0001_core_tables",
        "0002_rollups",
        "0003_touchpoint_ingest",
        "0004_undeliverable_notifications",
        "0005_exactly_once",
        "0006_kpi_windows",
        "0007_event_time_comments",
        "0008_fairness",
        "0009_incident_chains",
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


def test_an_owned_directory_is_never_opened_by_another(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    owner = ExclusiveLock.acquire(owner_lock_path(clickhouse.chdb_path))
    try:
        with pytest.raises(StoreLocked, match=f"process {os.getpid()} .*retry in a few seconds"):
            run_sql(clickhouse, "SELECT 1", fmt="TSV")
        with pytest.raises(StoreLocked, match="restart it instead"):
            migrate(clickhouse)
        with pytest.raises(StoreLocked, match=f"process {os.getpid()} "):
            open_chdb(clickhouse, wait=0.3)
    finally:
        owner.release()
    assert run_sql(clickhouse, "SELECT 40 + 2", fmt="TSV") == "42\n"  # released: free again


def test_the_next_owner_removes_a_dead_owners_announcement(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    announce = endpoint_file(clickhouse.chdb_path)
    announce.parent.mkdir(parents=True)
    announce.write_text('{"host": "127.0.0.1", "port": 1, "pid": 1, "token": "gone"}')
    store = open_chdb(clickhouse, wait=0)
    try:
        assert not announce.exists()
    finally:
        store.close()


def test_an_announcement_is_trusted_only_with_its_endpoints_token(tmp_path: Path) -> None:
    owner = ChdbBackend(path=tmp_path / "chdb", database="kam_ep")
    announce = tmp_path / "chdb" / "sql-endpoint.json"
    endpoint = QueryEndpoint(store=owner.reader(), port=0, announce=announce)
    endpoint.start()
    try:
        info = json.loads(announce.read_text())
        assert info["pid"] == os.getpid()
        announce.write_text(json.dumps({**info, "token": "another instance"}))
        assert ask_endpoint(announce, "SELECT 1", fmt="TSV") is None
        announce.write_text(json.dumps({**info, "pid": _dead_pid()}))
        assert ask_endpoint(announce, "SELECT 1", fmt="TSV") is None
        announce.write_text(json.dumps(info))
        assert ask_endpoint(announce, "SELECT 1", fmt="TSV") == "1\n"
    finally:
        endpoint.stop()
        owner.close()


def _dead_pid() -> int:
    """The pid of a child that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_caller_may_wait_for_a_starting_owner(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb", database="kam_cli")
    owner = ExclusiveLock.acquire(owner_lock_path(clickhouse.chdb_path))
    threading.Timer(0.5, owner.release).start()  # the owner goes away while we wait
    assert run_sql(clickhouse, "SELECT 40 + 2", fmt="TSV", wait=10) == "42\n"
