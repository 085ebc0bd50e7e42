"""Errors of the ClickHouse sink, rooted in :class:`kam.errors.KamError`.

Driver errors (chdb, clickhouse-connect) are wrapped with their ClickHouse error code kept, and
sorted into the two cases a writer acts on differently: the store is *unavailable* (retry the
same batch later, after ``retry_after`` seconds) or it *rejected* the rows (retrying cannot help).
"""

from __future__ import annotations

from kam.errors import KamError


class SinkError(KamError):
    """Base class of the sink package's errors."""


class ClickHouseError(SinkError):
    """ClickHouse (server or chdb) refused or failed a statement; ``code`` is its error code."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ClickHouseUnavailable(ClickHouseError):  # noqa: N818 - a state, not a failure
    """The store cannot take work now; the same statement may succeed after ``retry_after`` s."""

    def __init__(self, message: str, *, code: int | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RowsRejected(ClickHouseError):  # noqa: N818 - named after what happened to the rows
    """The store refused the rows of an insert (bad value, unknown enum element, ...)."""


class MigrationError(SinkError):
    """A schema migration file is malformed or its applied checksum changed."""


class QueryEndpointError(SinkError):
    """The running sink's read-only SQL endpoint could not answer."""


class StoreLocked(SinkError):  # noqa: N818 - a state
    """Another process owns the embedded chdb data directory."""
