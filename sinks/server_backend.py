"""A ClickHouse server reached through clickhouse-connect (HTTP/HTTPS)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import (
    ClickHouseError as DriverError,
)
from clickhouse_connect.driver.exceptions import (
    DatabaseError,
    OperationalError,
)
from clickhouse_connect.driver.insert import InsertContext

from kam.settings import ClickHouseSettings
from sinks.backend import (
    INSERT_SETTINGS,
    QUERY_SETTINGS,
    QueryResult,
    classify,
    error_code,
    parse_json_compact,
    quoted_identifier,
    session_settings,
)
from sinks.exceptions import ClickHouseError, ClickHouseUnavailable


def _wrap(exc: Exception, *, insert: bool) -> ClickHouseError:
    """The typed error for a clickhouse-connect exception, its server code kept."""
    message = str(exc)
    code = getattr(exc, "code", None) or error_code(message)
    if isinstance(exc, OperationalError) and not isinstance(code, int):
        return ClickHouseUnavailable(message, code=None)
    if insert and not isinstance(exc, DatabaseError):
        # raised while converting Python values, before anything reached the server
        return classify(message, code, insert=True)
    return classify(message, code, insert=insert)


class ServerBackend:
    """clickhouse-connect client with one reusable :class:`InsertContext` per table."""

    def __init__(self, *, settings: ClickHouseSettings) -> None:
        self._database = settings.database
        self._lock = threading.Lock()
        self._contexts: dict[tuple[str, tuple[str, ...], bool], InsertContext] = {}
        try:
            self._client: Client = clickhouse_connect.get_client(
                host=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password.get_secret_value(),
                secure=settings.secure,
                ca_cert=str(settings.ca_cert) if settings.ca_cert else None,
                settings={"async_insert": 0, **session_settings(settings.deployment)},
            )
            self._client.command(
                f"CREATE DATABASE IF NOT EXISTS {quoted_identifier(self._database)}"
            )
        except DriverError as exc:
            raise _wrap(exc, insert=False) from exc
        self._client.database = self._database

    @property
    def database(self) -> str:
        return self._database

    def command(self, sql: str) -> None:
        try:
            with self._lock:
                self._client.command(sql)
        except DriverError as exc:
            raise _wrap(exc, insert=False) from exc

    def query(self, sql: str) -> QueryResult:
        return parse_json_compact(self._raw_bytes(sql, fmt="JSONCompact"))

    def raw(self, sql: str, *, fmt: str) -> str:
        return self._raw_bytes(sql, fmt=fmt).decode("utf-8", errors="replace")

    def _raw_bytes(self, sql: str, *, fmt: str) -> bytes:
        try:
            with self._lock:
                return self._client.raw_query(sql, fmt=fmt, settings=QUERY_SETTINGS)
        except DriverError as exc:
            raise _wrap(exc, insert=False) from exc

    def _context(self, table: str, columns: Sequence[str], *, by_column: bool) -> InsertContext:
        key = (table, tuple(columns), by_column)
        if key not in self._contexts:
            self._contexts[key] = self._client.create_insert_context(
                table=table,
                column_names=list(columns),
                settings=dict(INSERT_SETTINGS),
                column_oriented=by_column,
            )
        return self._contexts[key]

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        self._insert(table, columns, rows, dedup_token=dedup_token, by_column=False)

    def insert_columns(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        """Sent column-oriented: clickhouse-connect writes its Native format from the columns
        without pivoting rows."""
        if data and data[0]:
            self._insert(table, columns, data, dedup_token=dedup_token, by_column=True)

    def _insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
        by_column: bool,
    ) -> None:
        if not data:
            return
        try:
            with self._lock:
                context = self._context(table, columns, by_column=by_column)
                context.settings.pop("insert_deduplication_token", None)
                if dedup_token is not None:
                    context.settings["insert_deduplication_token"] = dedup_token
                context.data = data
                try:
                    self._client.insert(context=context)
                finally:
                    context.data = None
        except (DriverError, ValueError, TypeError, KeyError) as exc:
            raise _wrap(exc, insert=True) from exc

    def close(self) -> None:
        self._client.close()
