"""Opening the configured ClickHouse store, ``kam sql`` and ``kam db migrate``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from kam.locks import ExclusiveLock, LockBusy
from kam.settings import ClickHouseSettings
from sinks.backend import ClickHouseBackend
from sinks.exceptions import StoreLocked
from sinks.migrate import DdlTarget, apply_migrations, set_health_window
from sinks.query_endpoint import ask_endpoint, endpoint_file

if TYPE_CHECKING:
    from sinks.chdb_backend import ChdbBackend

DEFAULT_FORMAT = "PrettyCompactMonoBlock"
OWNER_WAIT_SECONDS = 60.0
"""How long a starting sink waits for a short-lived owner (``kam sql``) to close the store."""


def owner_lock_path(chdb_path: Path) -> Path:
    """The owner lock of a chdb directory (:mod:`kam.locks`): a file beside it, not inside."""
    return chdb_path.with_name(f"{chdb_path.name}.lock")


def open_chdb(clickhouse: ClickHouseSettings, *, wait: float = OWNER_WAIT_SECONDS) -> ChdbBackend:
    """The embedded store on ``clickhouse.chdb_path``, owned by this process until closed.

    chdb lets one process open a directory, and ``kam sql`` opening it for one query would
    lock a restarting sink out, so every opener first takes the directory's owner lock, waiting
    up to ``wait`` seconds (StoreLocked after that). Holding it, any endpoint announcement left
    behind is stale (its owner died): it is removed, and the new owner announces its own.
    """
    path = clickhouse.chdb_path
    try:
        owner = ExclusiveLock.acquire(owner_lock_path(path), wait=wait)
    except LockBusy as exc:
        raise StoreLocked(f"{exc.holder} has the chdb directory {path} open") from None
    try:
        endpoint_file(path).unlink(missing_ok=True)
        # chdb loads a ~270 MB engine at import: only processes that use it pay for it
        from sinks.chdb_backend import ChdbBackend  # noqa: PLC0415

        return ChdbBackend(path=path, database=clickhouse.database, release=owner.release)
    except BaseException:
        owner.release()
        raise


def open_backend(clickhouse: ClickHouseSettings, *, wait: float = 0.0) -> ClickHouseBackend:
    """The server backend when ``CLICKHOUSE_HOST`` is set, else the embedded chdb one (waiting
    up to ``wait`` seconds for its owner lock)."""
    if clickhouse.backend == "server":
        from sinks.server_backend import ServerBackend  # noqa: PLC0415 - optional driver load

        return ServerBackend(settings=clickhouse)
    return open_chdb(clickhouse, wait=wait)


def migrate(clickhouse: ClickHouseSettings, *, health_window: str = "30d") -> list[str]:
    """Apply pending migrations (``kam db migrate``) and set the health view's window; return
    the names of the migrations applied now."""
    try:
        backend = open_backend(clickhouse)
    except StoreLocked as exc:
        raise StoreLocked(
            f"{exc}; the running sink applies migrations when it starts, restart it instead"
        ) from exc
    try:
        target = DdlTarget.from_settings(clickhouse)
        applied = [f"{m.version:04d}_{m.name}" for m in apply_migrations(backend, target=target)]
        set_health_window(backend, health_window)
        return applied
    finally:
        backend.close()


def run_sql(
    clickhouse: ClickHouseSettings, sql: str, *, fmt: str = DEFAULT_FORMAT, wait: float = 0.0
) -> str:
    """Run one SQL statement and return its output as text (``kam sql "..."``).

    Server mode: through clickhouse-connect. Embedded mode: through the running sink's
    read-only endpoint when it answers, else by opening the chdb directory directly, but only
    when no process has it open. A sink that is starting (it owns the directory, its endpoint
    is not up yet) is waited for up to ``wait`` seconds, then StoreLocked says so.
    """
    deadline = time.monotonic() + wait
    while True:
        if clickhouse.backend == "chdb":
            answer = ask_endpoint(endpoint_file(clickhouse.chdb_path), sql, fmt=fmt)
            if answer is not None:
                return answer
        try:
            backend = open_backend(clickhouse)
        except StoreLocked as exc:
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise StoreLocked(
                f"{exc} and its SQL endpoint does not answer (a sink that is starting, or"
                " another query); retry in a few seconds"
            ) from exc
        try:
            return backend.raw(sql, fmt=fmt)
        finally:
            backend.close()
