"""Opening the configured ClickHouse store, ``kam sql`` and ``kam db migrate``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kam.settings import ClickHouseSettings
from sinks.backend import ClickHouseBackend
from sinks.exceptions import StoreLocked
from sinks.migrate import apply_migrations
from sinks.query_endpoint import ask_endpoint, endpoint_file

if TYPE_CHECKING:
    from sinks.chdb_backend import ChdbBackend

DEFAULT_FORMAT = "PrettyCompactMonoBlock"


def open_chdb(clickhouse: ClickHouseSettings) -> ChdbBackend:
    """The embedded store on ``clickhouse.chdb_path`` (raises StoreLocked if another has it)."""
    # chdb loads a ~270 MB engine at import: only processes that use it pay for it
    from sinks.chdb_backend import ChdbBackend  # noqa: PLC0415

    return ChdbBackend(path=clickhouse.chdb_path, database=clickhouse.database)


def open_backend(clickhouse: ClickHouseSettings) -> ClickHouseBackend:
    """The server backend when ``CLICKHOUSE_HOST`` is set, else the embedded chdb one."""
    if clickhouse.backend == "server":
        from sinks.server_backend import ServerBackend  # noqa: PLC0415 - optional driver load

        return ServerBackend(settings=clickhouse)
    return open_chdb(clickhouse)


def migrate(clickhouse: ClickHouseSettings) -> list[str]:
    """Apply pending migrations (``kam db migrate``); return the names applied now."""
    try:
        backend = open_backend(clickhouse)
    except StoreLocked as exc:
        raise StoreLocked(
            f"{exc}; the running sink applies migrations when it starts, restart it instead"
        ) from exc
    try:
        return [f"{m.version:04d}_{m.name}" for m in apply_migrations(backend)]
    finally:
        backend.close()


def run_sql(clickhouse: ClickHouseSettings, sql: str, *, fmt: str = DEFAULT_FORMAT) -> str:
    """Run one SQL statement and return its output as text (``kam sql "..."``).

    Server mode: through clickhouse-connect. Embedded mode: through the running sink's
    read-only endpoint when one is announced, else by opening the chdb directory directly.
    """
    if clickhouse.backend == "chdb":
        answer = ask_endpoint(endpoint_file(clickhouse.chdb_path), sql, fmt=fmt)
        if answer is not None:
            return answer
    backend = open_backend(clickhouse)
    try:
        return backend.raw(sql, fmt=fmt)
    finally:
        backend.close()
