"""Errors of the HTTP ingest service; all derive from :class:`producers.ProducerError`."""

from __future__ import annotations

from producers.exceptions import ProducerError


class IngestConfigError(ProducerError):
    """The tokens or the account mapping cannot be used (says which entry and why)."""


class RequestRefusedError(ProducerError):
    """A request refused as a whole, before any event was looked at: its status and reason.

    ``code`` is a stable machine-readable name (``body_too_large``, ``not_json``, ...);
    ``retry_after`` is set for answers a client should retry (429, 503).
    """

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status} {code}: {message}")
