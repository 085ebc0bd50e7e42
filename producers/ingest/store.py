"""Verdicts onto Kafka from asyncio: events to the touchpoints topic, rejections as dead letters.

A thin adapter around :class:`producers.TouchpointPublisher` (the SDK's idempotent producer,
``acks=all``, the cluster's SASL/TLS settings), whose delivery futures are awaited: an outcome
is known only once the broker acknowledged the record or librdkafka gave up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, datetime

from producers.exceptions import DeliveryError, PublisherBackpressureError
from producers.ingest.answers import Outcome
from producers.ingest.documents import Invalid, Valid, Verdict
from producers.publisher import DeliveryResult, TouchpointPublisher
from schemas import DeadLetter

SOURCE_PREFIX = "ingest:"
"""Dead letters of the ingest service name ``ingest:<source_system>`` as their source topic."""


def dead_letter(
    invalid: Invalid, *, source_system: str, request_id: str, received_at: datetime
) -> DeadLetter:
    """The dead letter of a rejected event; it has no Kafka position (partition/offset -1)."""
    rejection = invalid.rejection
    return DeadLetter.keeping(
        invalid.raw,
        failure_type=rejection.failure_type,
        detail=f"{rejection.detail} (event {invalid.index} of request {request_id})"[:2000],
        field_path=rejection.field_path,
        source_topic=SOURCE_PREFIX + source_system,
        source_partition=-1,
        source_offset=-1,
        received_at=received_at,
    )


class EventStore:
    """Sends a request's verdicts and waits, bounded, for the broker's acknowledgements."""

    def __init__(self, publisher: TouchpointPublisher, *, wait_seconds: float) -> None:
        self._publisher = publisher
        self._wait = wait_seconds

    async def store(
        self, verdicts: Sequence[Verdict], *, source_system: str, request_id: str
    ) -> list[Outcome]:
        now = datetime.now(UTC)
        futures: list[Future[DeliveryResult] | DeliveryError] = []
        for verdict in verdicts:
            try:
                futures.append(self._send(verdict, source_system, request_id, now))
            except PublisherBackpressureError as exc:
                futures.append(_not_queued(exc, source_system))
            except DeliveryError as exc:  # refused before queueing (e.g. unknown topic)
                futures.append(exc)
        await settled([f for f in futures if isinstance(f, Future)], timeout=self._wait)
        return [_outcome(verdict, sent) for verdict, sent in zip(verdicts, futures, strict=True)]

    def reachable(self, timeout: float) -> bool:
        return self._publisher.reachable(timeout)

    def _send(
        self, verdict: Verdict, source_system: str, request_id: str, now: datetime
    ) -> Future[DeliveryResult]:
        if isinstance(verdict, Valid):
            return self._publisher.publish(verdict.event)
        letter = dead_letter(
            verdict, source_system=source_system, request_id=request_id, received_at=now
        )
        return self._publisher.publish_dead_letter(letter, key=SOURCE_PREFIX + source_system)


async def settled(futures: Sequence[Future[DeliveryResult]], *, timeout: float) -> None:
    """Wait until every future is done (or ``timeout``): one wake-up, not one per future."""
    if not futures:
        return
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    remaining = len(futures)

    def one_done() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()

    def report(_: Future[DeliveryResult]) -> None:  # librdkafka's thread
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(one_done)

    for future in futures:
        future.add_done_callback(report)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout)


def _not_queued(exc: PublisherBackpressureError, source_system: str) -> DeliveryError:
    return DeliveryError(
        code="_QUEUE_FULL", reason=str(exc), retriable=True, topic="", key=source_system
    )


def _outcome(verdict: Verdict, sent: Future[DeliveryResult] | DeliveryError) -> Outcome:
    if isinstance(sent, DeliveryError):
        return Outcome(verdict, error=sent)
    if not sent.done():
        return Outcome(verdict)
    error = sent.exception()
    if error is None:
        return Outcome(verdict, stored=sent.result())
    return Outcome(verdict, error=error if isinstance(error, DeliveryError) else None)
