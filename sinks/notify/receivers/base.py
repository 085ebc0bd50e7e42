"""What every receiver is (one small Protocol) and the HTTP call they share.

Errors name the receiver, never its URL or secrets: 2xx is delivered; 408, 425, 429 and 5xx,
timeouts and connection failures raise :class:`RetryableDeliveryError` (with ``Retry-After``
when given); any other status raises :class:`DeliveryError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Generic, Protocol, TypeVar

import aiohttp

from sinks.notify.config import ReceiverKind
from sinks.notify.exceptions import DeliveryError, RetryableDeliveryError
from sinks.notify.grouping import Batch
from sinks.notify.render import Message

ConfigT = TypeVar("ConfigT")
RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_ERROR_BODY = 200
USER_AGENT = "kam-pulse-notifier/1"


class Receiver(Protocol):
    """Delivers one notification batch, or raises a (retryable) DeliveryError."""

    name: str

    @property
    def kind(self) -> ReceiverKind:
        """Read-only, so that a receiver may declare its own kind as a ``Literal``."""

    async def send(self, batch: Batch, message: Message) -> None: ...


class HttpReceiver(Generic[ConfigT]):
    """What every receiver that POSTs to an HTTP endpoint holds."""

    def __init__(
        self, *, name: str, config: ConfigT, session: aiohttp.ClientSession, timeout: float
    ) -> None:
        self.name = name
        self._config = config
        self._session = session
        self._timeout = timeout


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds, None when absent/invalid."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def check_status(receiver: str, status: int, body: bytes, retry_after: str | None) -> None:
    """Raise the error a response status means; return quietly on 2xx."""
    if 200 <= status < 300:
        return
    detail = body[:MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    message = f"receiver {receiver}: HTTP {status}" + (f" {detail}" if detail else "")
    if status in RETRYABLE_STATUSES or status >= 500:
        raise RetryableDeliveryError(
            message, status=status, retry_after=retry_after_seconds(retry_after)
        )
    raise DeliveryError(message, status=status)


async def post_json(
    session: aiohttp.ClientSession,
    *,
    receiver: str,
    url: str,
    body: bytes,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """POST a JSON body; the response body on 2xx, a typed DeliveryError otherwise."""
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with session.post(
            url, data=body, headers=all_headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            payload = await response.read()
            status, retry_after = response.status, response.headers.get("Retry-After")
    except TimeoutError as exc:
        raise RetryableDeliveryError(f"receiver {receiver}: timed out after {timeout}s") from exc
    except aiohttp.InvalidURL as exc:
        raise DeliveryError(f"receiver {receiver}: invalid URL") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise RetryableDeliveryError(f"receiver {receiver}: {type(exc).__name__}") from exc
    check_status(receiver, status, payload, retry_after)
    return payload
