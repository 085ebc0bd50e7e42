"""Errors of the notifier. Messages never contain endpoints or secrets."""

from __future__ import annotations

from kam.errors import KamError


class NotifyError(KamError):
    """Base class of the notifier's errors."""


class RoutingConfigError(NotifyError):
    """The routing configuration file is missing, not TOML, or invalid."""


class DeliveryError(NotifyError):
    """A receiver refused a notification for good (e.g. 400 invalid, 404 unknown hook)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableDeliveryError(DeliveryError):
    """A delivery failed for now (5xx, 429, timeout, connection); try again later.

    ``retry_after`` (seconds) is the receiver's own hint, e.g. from a ``Retry-After`` header.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
