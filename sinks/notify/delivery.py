"""Delivery of one batch to one receiver, with retries and exponential backoff."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sinks.notify.config import DeliveryPolicy
from sinks.notify.exceptions import DeliveryError, RetryableDeliveryError
from sinks.notify.grouping import Batch
from sinks.notify.receivers.base import Receiver
from sinks.notify.render import Message

Sleep = Callable[[float], Awaitable[bool]]
"""Waits that many seconds; returns False when the service is stopping (delivery abandoned)."""

Outcome = Literal["delivered", "rejected", "retries_exhausted", "abandoned"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How delivering one batch ended; ``rejected``/``retries_exhausted`` are undeliverable."""

    batch: Batch
    receiver: str
    outcome: Outcome
    attempts: int
    first_attempt_at: datetime
    finished_at: datetime
    seconds: float
    error: str | None = None
    status: int | None = None

    @property
    def undeliverable(self) -> bool:
        return self.outcome in ("rejected", "retries_exhausted")


def backoff_delay(failures: int, policy: DeliveryPolicy, retry_after: float | None) -> float:
    """Seconds before the next attempt after ``failures`` failed ones (the receiver's
    ``retry_after`` is honoured, both capped by ``max_backoff``)."""
    cap = policy.max_backoff.total_seconds()
    delay = policy.initial_backoff.total_seconds() * policy.multiplier ** (failures - 1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(cap, delay)


async def deliver(
    receiver: Receiver,
    batch: Batch,
    message: Message,
    *,
    policy: DeliveryPolicy,
    sleep: Sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """Send until delivered, refused for good, out of attempts, or stopped while waiting."""
    started, first_attempt_at = clock(), datetime.now(UTC)

    def result(
        outcome: Outcome, attempts: int, error: DeliveryError | None = None
    ) -> DeliveryResult:
        return DeliveryResult(
            batch=batch, receiver=receiver.name, outcome=outcome, attempts=attempts,
            first_attempt_at=first_attempt_at, finished_at=datetime.now(UTC),
            seconds=clock() - started, error=str(error) if error else None,
            status=error.status if error else None,
        )

    for attempt in range(1, policy.max_attempts + 1):
        try:
            await receiver.send(batch, message)
        except RetryableDeliveryError as exc:
            if attempt == policy.max_attempts:
                return result("retries_exhausted", attempt, exc)
            if not await sleep(backoff_delay(attempt, policy, exc.retry_after)):
                return result("abandoned", attempt, exc)
        except DeliveryError as exc:
            return result("rejected", attempt, exc)
        else:
            return result("delivered", attempt)
    raise AssertionError("unreachable: max_attempts >= 1")
