"""Embedded ClickHouse (chdb): the same SQL on a local data directory, inside this process.

Only one process may open a chdb data directory; its calls block (keep them off event loops)
and loading the engine costs about 270 MB of memory. One :class:`ChdbBackend` owns the
directory read-write; :meth:`ChdbBackend.reader` opens a read-only session in the same process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
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


def encode_columns(columns: Sequence[str], data: Sequence[Sequence[Any]]) -> bytes | None:
    """Columns as ``ArrowStream`` input (types inferred by pyarrow, each column in one C loop;
    ClickHouse converts them to the table's types), or ``None`` when a column mixes values
    Arrow cannot type together (the caller then sends the rows as JSON)."""
    try:
        arrays = [pa.array(values, type=_arrow_type(values)) for values in data]
        batch = pa.record_batch(arrays, names=list(columns))
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write_batch(batch)
    return bytes(sink.getvalue())


_UTC_MICROS = pa.timestamp("us", tz="UTC")


def _arrow_type(values: Sequence[Any]) -> Any:
    """The Arrow type of a column of aware datetimes (given, it converts 3x faster than
    inferred); ``None`` (inferred) for anything else."""
    first = values[0] if values else None
    if isinstance(first, datetime) and first.tzinfo is not None:
        return _UTC_MICROS
    return None


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
        if rows:
            self._send(table, columns, encode_rows(rows), "JSONCompactEachRow", dedup_token)

    def insert_columns(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        if not data or not data[0]:
            return
        body = encode_columns(columns, data)
        if body is None:
            self.insert(table, columns, list(zip(*data, strict=True)), dedup_token=dedup_token)
        else:
            self._send(table, columns, body, "ArrowStream", dedup_token)

    def _send(
        self, table: str, columns: Sequence[str], body: bytes, fmt: str, dedup_token: str | None
    ) -> None:
        settings = dict(INSERT_SETTINGS)
        if dedup_token is not None:
            settings["insert_deduplication_token"] = dedup_token
        target = quoted_identifier(f"{self._database}.{table}")
        names = ", ".join(quoted_identifier(column) for column in columns)
        statement = f"INSERT INTO {target} ({names}) {settings_clause(settings)}"
        try:
            with self._lock, self._session.send_insert(statement, fmt) as inserter:
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
