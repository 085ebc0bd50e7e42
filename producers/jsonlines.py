"""``kam publish [FILE|-]``: publish a file of JSON lines, report every rejected line.

:func:`validate_lines` is pure; :func:`publish_lines` drives any publisher; :func:`publish_command`
is the CLI edge (opens the file, builds the publisher, prints the report, returns the exit code).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from kam.settings import KafkaSettings, TopicSettings
from producers.exceptions import DeliveryError, InvalidTouchpointError
from producers.publisher import DeliveryResult, PublisherOptions, TouchpointPublisher
from producers.validation import to_touchpoint
from schemas import FailureType, Touchpoint
from schemas.validation import FieldIssue


@dataclass(frozen=True, slots=True)
class LineRejection:
    """A line that is not a valid touchpoint (1-based line number, as in the file)."""

    line_number: int
    failure_type: FailureType
    issues: tuple[FieldIssue, ...]

    def __str__(self) -> str:
        reasons = "; ".join(str(issue) for issue in self.issues)
        return f"line {self.line_number}: {self.failure_type.value}: {reasons}"


@dataclass(frozen=True, slots=True)
class LineFailure:
    """A valid line the broker did not accept."""

    line_number: int
    event_id: str
    error: DeliveryError

    def __str__(self) -> str:
        return f"line {self.line_number}: delivery failed: {self.error.code}: {self.error.reason}"


@dataclass(frozen=True, slots=True)
class PublishReport:
    """Outcome of one file: ``lines`` counts the non-blank lines read."""

    lines: int
    published: int
    rejected: tuple[LineRejection, ...]
    failed: tuple[LineFailure, ...]

    @property
    def exit_code(self) -> int:
        """0 when every line was published, 1 when any was rejected or not delivered."""
        return 1 if self.rejected or self.failed else 0

    def summary(self) -> str:
        return (
            f"{self.lines} lines: {self.published} published, {len(self.rejected)} rejected, "
            f"{len(self.failed)} failed"
        )


class Publisher(Protocol):
    """What :func:`publish_lines` needs: :class:`TouchpointPublisher` or a test double."""

    def publish(self, event: Touchpoint) -> Future[DeliveryResult]: ...

    def flush(self, timeout: float = ...) -> object: ...


def validate_lines(
    lines: Iterable[str | bytes],
) -> Iterator[tuple[int, Touchpoint | LineRejection]]:
    """Each non-blank line with its number, as a touchpoint or as a rejection."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, to_touchpoint(line)
        except InvalidTouchpointError as exc:
            yield number, LineRejection(number, exc.failure_type, exc.issues)


class _Deliveries:
    """Counts delivery outcomes as they arrive (from the publisher's poll thread)."""

    def __init__(self) -> None:
        self.done = 0
        self.failed: list[LineFailure] = []
        self._cond = threading.Condition()

    def track(self, number: int, event_id: str, future: Future[DeliveryResult]) -> None:
        def settle(done: Future[DeliveryResult]) -> None:
            error = done.exception()
            with self._cond:
                if isinstance(error, DeliveryError):
                    self.failed.append(LineFailure(number, event_id, error))
                self.done += 1
                self._cond.notify_all()

        future.add_done_callback(settle)

    def wait_for(self, count: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.done >= count, timeout)


def publish_lines(
    lines: Iterable[str | bytes], publisher: Publisher, *, flush_timeout: float = 60.0
) -> PublishReport:
    """Publish the valid lines, collect the rejected ones, wait for every delivery report."""
    deliveries = _Deliveries()
    rejected: list[LineRejection] = []
    sent = 0
    read = 0
    for number, outcome in validate_lines(lines):
        read += 1
        if isinstance(outcome, LineRejection):
            rejected.append(outcome)
            continue
        deliveries.track(number, outcome.event_id, publisher.publish(outcome))
        sent += 1
    publisher.flush(flush_timeout)
    deliveries.wait_for(sent, flush_timeout)
    failed = tuple(sorted(deliveries.failed, key=lambda f: f.line_number))
    return PublishReport(
        lines=read,
        published=deliveries.done - len(failed),
        rejected=tuple(rejected),
        failed=failed,
    )


def publish_command(
    path: str,
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    out: TextIO = sys.stdout,
    options: PublisherOptions | None = None,
) -> int:
    """Publish the JSON lines of ``path`` (``-`` for stdin); print the report; the exit code."""
    with ExitStack() as stack:
        source = (
            sys.stdin.buffer if path == "-" else stack.enter_context(Path(path).open("rb"))
        )
        publisher = stack.enter_context(
            TouchpointPublisher(kafka=kafka, topics=topics, options=options)
        )
        report = publish_lines(source, publisher)
    for problem in (*report.rejected, *report.failed):
        print(problem, file=out)
    print(f"{report.summary()} (topic {topics.touchpoints})", file=out)
    return report.exit_code
