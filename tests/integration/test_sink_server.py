"""The server backend against a real ClickHouse server (testcontainers; needs Docker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kam.settings import ClickHouseSettings
from sinks.batching import Batch
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.exceptions import ClickHouseError
from sinks.migrate import apply_migrations
from sinks.rows import SourceMessage
from sinks.server_backend import ServerBackend
from tests.unit.sinks.samples import enriched_json, message

pytestmark = pytest.mark.docker

IMAGE = "clickhouse/clickhouse-server:25.8"


def docker_unreachable() -> str | None:
    """Why no Docker engine can be used here, or ``None`` when one answers."""
    try:
        import docker  # noqa: PLC0415 - only this test needs the Docker SDK

        docker.from_env(timeout=5).ping()
    except Exception as exc:
        return f"no Docker engine reachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[ClickHouseSettings]:
    reason = docker_unreachable()
    if reason:
        pytest.skip(reason=reason)  # no Docker engine: the chdb suite still covers the SQL
    from testcontainers.community.clickhouse import ClickHouseContainer  # noqa: PLC0415

    with ClickHouseContainer(IMAGE, username="kam", password="kam-secret") as container:
        yield ClickHouseSettings(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(8123)),
            username="kam",
            password="kam-secret",  # type: ignore[arg-type]
            database="kam_server",
        )


def test_same_sql_and_writer_on_a_server(server: ClickHouseSettings) -> None:
    backend = ServerBackend(settings=server)
    try:
        assert [m.name for m in apply_migrations(backend)] == [
            "core_tables",
            "rollups",
            "touchpoint_ingest",
            "undeliverable_notifications",
            "exactly_once",
            "kpi_windows",
            "event_time_comments",
            "fairness",
            "incident_chains",
        ]
        assert apply_migrations(backend) == []
        writer = ClickHouseWriter(
            backend=backend, routes={"enr": "enriched"}, group_id="g", max_rows=10, max_seconds=1
        )
        batch: Batch[SourceMessage] = Batch(topic="enr", partition=0, started_at=0.0)
        for offset in range(3):
            batch.offsets.append(offset)
            value = enriched_json(f"ev-{offset}", tier="platinum" if offset == 1 else "key")
            batch.items.append(message(value, offset=offset, topic="enr", partition=0))
        writer.write(batch)
        writer.write(batch)  # retried: deduplicated by token
        assert backend.query("SELECT event_id FROM touchpoints ORDER BY event_id").rows == [
            ["ev-0"],
            ["ev-2"],
        ]
        assert backend.query("SELECT failure_type, source_offset FROM failed_events").rows == [
            ["sink_rejected", 1]
        ]
        assert backend.query("SELECT sum(events) FROM touchpoints_daily").rows == [[2]]
        with pytest.raises(ClickHouseError) as caught:
            backend.query("SELECT * FROM no_such_table")
        assert caught.value.code == 60
    finally:
        backend.close()
