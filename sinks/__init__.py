"""Where events land: the ClickHouse sink (server or embedded chdb) and the notifiers."""

from sinks.access import migrate, open_backend, run_sql
from sinks.backend import ClickHouseBackend, QueryResult
from sinks.batching import Batch, BatchingSink
from sinks.exceptions import (
    ClickHouseError,
    ClickHouseUnavailable,
    MigrationError,
    QueryEndpointError,
    RowsRejected,
    SinkError,
    StoreLocked,
)
from sinks.runner import run_sink

__all__ = [
    "Batch",
    "BatchingSink",
    "ClickHouseBackend",
    "ClickHouseError",
    "ClickHouseUnavailable",
    "MigrationError",
    "QueryEndpointError",
    "QueryResult",
    "RowsRejected",
    "SinkError",
    "StoreLocked",
    "migrate",
    "open_backend",
    "run_sink",
    "run_sql",
]
