"""The one interface both ClickHouse backends (server, embedded chdb) implement."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from kam.settings import ClickHouseDeployment
from sinks.exceptions import ClickHouseError, ClickHouseUnavailable, RowsRejected

RETRYABLE_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        319,  # UNKNOWN_STATUS_OF_INSERT
        394,  # QUERY_WAS_CANCELLED
        425,  # SYSTEM_ERROR
        # a replicated cluster (CLICKHOUSE_DEPLOYMENT=cluster or cloud): Keeper or replicas away
        225,  # NO_ZOOKEEPER
        285,  # TOO_FEW_LIVE_REPLICAS (insert_quorum not reachable now)
        286,  # UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
        289,  # REPLICA_IS_NOT_IN_QUORUM (select_sequential_consistency on a lagging replica)
        999,  # KEEPER_EXCEPTION
    }
)
"""ClickHouse error codes after which the same statement may succeed later."""

_CODE = re.compile(r"Code: (\d+)\.")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def sql_string(text: str) -> str:
    """``text`` as a quoted, escaped ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def settings_clause(settings: dict[str, Any]) -> str:
    """``SETTINGS a=1, b='x'`` for an INSERT statement (string values quoted and escaped)."""

    def literal(value: Any) -> str:
        if isinstance(value, str):
            return sql_string(value)
        return str(int(value) if isinstance(value, bool) else value)

    return "SETTINGS " + ", ".join(f"{key}={literal(value)}" for key, value in settings.items())


def quoted_identifier(name: str) -> str:
    """``name`` or ``db.name`` checked to be a plain identifier (no SQL injection via names)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return ".".join(f"`{part}`" for part in name.split("."))


def error_code(message: str) -> int | None:
    """The ClickHouse error code quoted in an error message (``Code: 60. ...``), if any."""
    match = _CODE.search(message)
    return int(match.group(1)) if match else None


def classify(message: str, code: int | None, *, insert: bool) -> ClickHouseError:
    """The typed error for a failed statement: unavailable, rejected rows, or other."""
    if code in RETRYABLE_CODES:
        return ClickHouseUnavailable(message, code=code)
    if insert:
        return RowsRejected(message, code=code)
    return ClickHouseError(message, code=code)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a query with their column names and ClickHouse types (JSON values)."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


def parse_json_compact(raw: bytes) -> QueryResult:
    """Decode ClickHouse ``JSONCompact`` output (both backends answer queries through it)."""
    if not raw.strip():
        return QueryResult(columns=[], types=[], rows=[])
    document = orjson.loads(raw)
    meta = document.get("meta", [])
    return QueryResult(
        columns=[column["name"] for column in meta],
        types=[column["type"] for column in meta],
        rows=document.get("data", []),
    )


QUERY_SETTINGS = {"output_format_json_quote_64bit_integers": 0}
"""Applied to :meth:`ClickHouseBackend.query` so that 64-bit integers come back as numbers."""

def session_settings(deployment: ClickHouseDeployment) -> dict[str, Any]:
    """Settings of every statement a server session sends, so that what the sink reads back
    (``sink_batches``, ``sink_origins``) includes everything it stored before, on any replica.

    On a self-managed cluster inserts wait for a majority of replicas, one at a time per table
    (``insert_quorum_parallel=0``, which sequential consistency needs), and reads see every
    quorum insert or fail with a retryable error. ClickHouse Cloud's SharedMergeTree inserts are
    quorum inserts by design; its reads need only sequential consistency. One server: nothing.
    """
    if deployment == "cluster":
        return {
            "insert_quorum": "auto",
            "insert_quorum_parallel": 0,
            "select_sequential_consistency": 1,
        }
    if deployment == "cloud":
        return {"select_sequential_consistency": 1}
    return {}


INSERT_SETTINGS: dict[str, Any] = {
    "async_insert": 0,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    "date_time_input_format": "best_effort",
}
"""Every insert: synchronous, deduplicated through materialized views too."""


class ClickHouseBackend(Protocol):
    """What the sink, the migrations and ``kam sql`` need from a ClickHouse store."""

    @property
    def database(self) -> str: ...

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing (DDL, small inserts)."""

    def query(self, sql: str) -> QueryResult:
        """Run a SELECT and return its rows."""

    def raw(self, sql: str, *, fmt: str) -> str:
        """Run a statement and return its output as text in ClickHouse format ``fmt``."""

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        """Insert rows (Python values) synchronously; the same ``dedup_token`` inserts once."""

    def insert_columns(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None,
    ) -> None:
        """:meth:`insert` of the same rows given column by column (``data[i]`` holds the values
        of ``columns[i]``): the cheaper path for a caller that builds its rows that way."""

    def close(self) -> None: ...
