"""Errors of the account health board: each one is a page with its HTTP status, or a startup
refusal (one line, exit 2)."""

from __future__ import annotations

from kam.errors import KamError


class BoardError(KamError):
    """Root of the board's errors."""


class BoardConfigError(BoardError):
    """The board's settings or credential files cannot be used (it does not start)."""


class PageError(BoardError):
    """A request the board answers with an error page: ``status`` is its HTTP status."""

    status = 500
    title = "Something went wrong"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(PageError):
    """A query parameter or path segment outside what the page accepts."""

    status = 400
    title = "Bad request"


class PageNotFoundError(PageError):
    status = 404
    title = "Not found"


class StoreUnavailableError(PageError):
    """ClickHouse (or the sink's SQL endpoint) did not answer."""

    status = 503
    title = "ClickHouse is not available"
