"""Errors raised by the producer SDK; all derive from :class:`kam.errors.KamError`."""

from __future__ import annotations

from kam.errors import KamError
from schemas import FailureType
from schemas.validation import FieldIssue


class ProducerError(KamError):
    """Base of every producer SDK error."""


class InvalidTouchpointError(ProducerError):
    """The document is not a valid touchpoint; nothing was published."""

    def __init__(self, failure_type: FailureType, issues: tuple[FieldIssue, ...]) -> None:
        self.failure_type = failure_type
        self.issues = issues
        super().__init__(f"{failure_type.value}: " + "; ".join(str(i) for i in issues))


class DeliveryError(ProducerError):
    """The broker did not accept a record; ``code`` is librdkafka's error name."""

    def __init__(self, *, code: str, reason: str, retriable: bool, topic: str, key: str) -> None:
        self.code = code
        self.reason = reason
        self.retriable = retriable
        self.topic = topic
        self.key = key
        super().__init__(f"delivery to {topic} (key {key!r}) failed: {code}: {reason}")


class PublisherBackpressureError(ProducerError):
    """The local send queue stayed full; retry after ``retry_after`` seconds."""

    def __init__(self, *, retry_after: float, queued: int) -> None:
        self.retry_after = retry_after
        self.queued = queued
        super().__init__(f"send queue full ({queued} records queued); retry in {retry_after}s")


class FlushTimeoutError(ProducerError):
    """``flush`` gave up with records still awaiting delivery."""

    def __init__(self, *, pending: int, timeout: float) -> None:
        self.pending = pending
        self.timeout = timeout
        super().__init__(f"{pending} records still undelivered after {timeout}s")


class PublisherClosedError(ProducerError):
    """The publisher was used after ``close()``."""


class SimulationConfigError(ProducerError):
    """The simulator was asked for something it cannot produce (unknown event type, bad mix)."""
