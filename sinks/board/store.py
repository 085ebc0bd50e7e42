"""The board's only way to ClickHouse: ``kam sql``'s path (:func:`sinks.access.run_sql`).

Server mode: clickhouse-connect. Embedded mode: the running sink's read-only SQL endpoint, or,
when no sink runs, the chdb directory opened for one statement under its owner lock (never
while another process owns it). Statements run one at a time, off the event loop.
"""

from __future__ import annotations

import threading

from kam.settings import ClickHouseSettings
from sinks.access import run_sql
from sinks.backend import QueryResult, parse_json_compact
from sinks.board import metrics
from sinks.board.exceptions import StoreUnavailableError
from sinks.exceptions import SinkError

STORE_WAIT_SECONDS = 5.0
"""How long a statement waits for a starting sink's endpoint before the page says 503."""


class BoardStore:
    def __init__(self, clickhouse: ClickHouseSettings, *, wait: float = STORE_WAIT_SECONDS) -> None:
        self._clickhouse = clickhouse
        self._wait = wait
        self._lock = threading.Lock()

    @property
    def database(self) -> str:
        return self._clickhouse.database

    def query(self, sql: str) -> QueryResult:
        """Rows of one SELECT; StoreUnavailableError when ClickHouse cannot answer it."""
        try:
            with self._lock:
                text = run_sql(self._clickhouse, sql, fmt="JSONCompact", wait=self._wait)
        except SinkError as exc:
            metrics.STORE_ERRORS.labels(type(exc).__name__).inc()
            raise StoreUnavailableError(str(exc).strip().splitlines()[0]) from exc
        return parse_json_compact(text.encode())
