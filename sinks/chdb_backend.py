"""Embedded ClickHouse (chdb): the same SQL on a local data directory, inside this process.

Only one process may open a chdb data directory; its calls block (keep them off event loops)
and loading the engine costs about 270 MB of memory. One :class:`ChdbBackend` owns the
directory read-write; :meth:`ChdbBackend.reader` opens a read-only session in the same process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from chdb import session as chdb_session

from sinks.backend import (
    INSERT_SETTINGS,
    QUERY_SETTINGS,
    QueryResult,
    classify,
    error_code,
    parse_json_compact,
    quoted_identifier,
    settings_clause,
)
from sinks.exceptions import ClickHouseError, StoreLocked


def encode_rows(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows as ``JSONCompactEachRow`` input (one orjson call; datetimes as ISO 8601)."""
    return orjson.dumps(rows)[1:-1] if rows else b""


class ChdbBackend:
    """A chdb session on ``path`` (created if missing) used as a ClickHouse store.

    ``release`` runs when the store is closed (it gives up the directory's owner lock, see
    :func:`sinks.access.open_chdb`).
    """

    def __init__(
        self,
        *,
        path: Path,
        database: str,
        read_only: bool = False,
        release: Callable[[], None] | None = None,
    ) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._database = database
        self._lock = threading.Lock()
        self._release = release
        options = "&".join(f"{key}={value}" for key, value in QUERY_SETTINGS.items())
        target = f"{path}?mode=ro&{options}" if read_only else f"{path}?{options}"
        try:
            self._session = chdb_session.Session(target)
        except RuntimeError as exc:
            if "Cannot lock file" in str(exc):
                raise StoreLocked(f"another process has opened the chdb directory {path}") from exc
            raise ClickHouseError(str(exc), code=error_code(str(exc))) from exc
        database_name = quoted_identifier(database)
        if not read_only:
            self.command(f"CREATE DATABASE IF NOT EXISTS {database_name}")
        exists = self.query(f"SELECT count() FROM system.databases WHERE name = '{database}'")
        if exists.rows[0][0]:
            self.command(f"USE {database_name}")

    @property
    def database(self) -> str:
        return self._database

    @property
    def path(self) -> Path:
        return self._path

    def reader(self) -> ChdbBackend:
        """A read-only session on the same directory, for queries served to other processes."""
        return ChdbBackend(path=self._path, database=self._database, read_only=True)

    def _run(self, sql: str, fmt: str, *, insert: bool = False) -> bytes:
        try:
            with self._lock:
                return bytes(self._session.query(sql, fmt).bytes())
        except RuntimeError as exc:
            message = str(exc)
            raise classify(message, error_code(message), insert=insert) from exc

    def command(self, sql: str) -> None:
        self._run(sql, "CSV")

    def query(self, sql: str) -> QueryResult:
        return parse_json_compact(self._run(sql, "JSONCompact"))

    def raw(self, sql: str, *, fmt: str) -> str:
        return self._run(sql, fmt).decode("utf-8", errors="replace")

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        if not rows:
            return
        settings = dict(INSERT_SETTINGS)
        if dedup_token is not None:
            settings["insert_deduplication_token"] = dedup_token
        target = quoted_identifier(f"{self._database}.{table}")
        names = ", ".join(quoted_identifier(column) for column in columns)
        statement = f"INSERT INTO {target} ({names}) {settings_clause(settings)}"
        body = encode_rows(rows)
        try:
            with self._lock, self._session.send_insert(statement, "JSONCompactEachRow") as inserter:
                inserter.append(body)
                inserter.finish()
        except RuntimeError as exc:
            message = str(exc)
            raise classify(message, error_code(message), insert=True) from exc

    def close(self) -> None:
        with self._lock:
            self._session.close()
        if self._release is not None:
            self._release()
