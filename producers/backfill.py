"""``kam backfill FILE|-``: publish a file of historical touchpoints, in any order, resumably.

The lines are the JSON lines ``kam publish`` accepts, validated the same way, and go to the
touchpoints topic in file order (the workers sort history out by event time). They are sent in
chunks of ``chunk_lines``: every record of a chunk must be acknowledged by the broker before a
checkpoint records the chunk as done and the next one is read, so memory does not grow with
the file, progress is printed per chunk, an interrupted run resumes after its last complete
chunk, and a file already backfilled to the same topic of the same cluster is not published
again (``again=True`` publishes it once more, which stores every event twice).

A checkpoint is a small JSON file in ``checkpoints`` named after the file's SHA-256, the topic
and the bootstrap servers: renaming the file does not matter, changing one byte of it does.
Standard input has no checkpoint.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

from kam.errors import KamError
from kam.settings import KafkaSettings, TopicSettings
from producers.exceptions import DeliveryError, FlushTimeoutError, InvalidTouchpointError
from producers.jsonlines import LineRejection, Publisher
from producers.publisher import DeliveryResult, PublisherOptions, TouchpointPublisher
from producers.validation import to_touchpoint

DEFAULT_CHECKPOINTS = Path(".kam/backfill")
DEFAULT_CHUNK_LINES = 5_000
FLUSH_TIMEOUT = 180.0
"""Seconds a chunk may take to be acknowledged: above the publisher's delivery timeout
(120 s), so a record that cannot be delivered fails with its reason first."""


class BackfillError(KamError):
    """The backfill stopped; the checkpoint says where a new run resumes."""


@dataclass(kw_only=True)
class Checkpoint:
    """How far one file is backfilled to one topic of one cluster."""

    file: str
    sha256: str
    topic: str
    bootstrap_servers: str
    lines_done: int = 0
    """Lines of the file (blank ones included) whose records were all acknowledged."""
    read: int = 0
    published: int = 0
    rejected: int = 0
    first_event: str | None = None
    last_event: str | None = None
    too_old: int = 0
    """Events older than the longest KPI window before the run started."""
    complete: bool = False
    updated_at: str | None = None

    def path(self, directory: Path) -> Path:
        identity = f"{self.sha256}\n{self.topic}\n{self.bootstrap_servers}".encode()
        return directory / f"{hashlib.sha256(identity).hexdigest()[:24]}.json"

    def load(self, directory: Path) -> Checkpoint:
        """The stored checkpoint of the same file, topic and cluster, else this one."""
        try:
            stored = orjson.loads(self.path(directory).read_bytes())
        except (FileNotFoundError, NotADirectoryError):  # nothing stored (or cannot be)
            return self
        except (OSError, orjson.JSONDecodeError) as exc:
            raise BackfillError(
                f"cannot read the checkpoint {self.path(directory)} ({exc}): delete it to "
                "start over"
            ) from exc
        return Checkpoint(**{**stored, "file": self.file})

    def save(self, directory: Path) -> None:
        """Write atomically (a crash leaves the old or the new checkpoint, never half)."""
        self.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        path = self.path(directory)
        partial = path.with_suffix(".partial")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))
            os.replace(partial, path)
        except OSError as exc:
            raise BackfillError(
                f"cannot write the checkpoint {path}: {exc.strerror}: choose another "
                "--checkpoint-dir"
            ) from exc


def fingerprint(path: Path) -> tuple[str, int]:
    """SHA-256 and number of lines of a file, read once in blocks."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


@dataclass(frozen=True, slots=True)
class BackfillOptions:
    checkpoints: Path | None = DEFAULT_CHECKPOINTS
    """Directory of the checkpoints; ``None``: none (standard input)."""
    chunk_lines: int = DEFAULT_CHUNK_LINES
    again: bool = False
    longest_window: timedelta = timedelta(days=30)
    flush_timeout: float = FLUSH_TIMEOUT


class _Run:
    """One pass over the lines after the checkpoint, a chunk at a time."""

    def __init__(self, checkpoint: Checkpoint, options: BackfillOptions, out: TextIO,
                 total: int | None) -> None:  # fmt: skip
        self.checkpoint = checkpoint
        self.options = options
        self.out = out
        self.total = total
        self.oldest_counted = datetime.now(UTC) - options.longest_window
        self.started = time.monotonic()
        self.lines_at_start = checkpoint.lines_done

    def chunks(self, lines: Iterator[bytes]) -> Iterator[tuple[int, list[bytes]]]:
        """(number of the chunk's first line, its lines), after the lines already done."""
        for _ in islice(lines, self.checkpoint.lines_done):
            pass
        number = self.checkpoint.lines_done + 1
        while chunk := list(islice(lines, self.options.chunk_lines)):
            yield number, chunk
            number += len(chunk)

    def publish(self, publisher: Publisher, first: int, chunk: list[bytes]) -> None:
        """Publish one chunk and wait for the broker; then record it as done."""
        sent: list[tuple[int, Future[DeliveryResult]]] = []
        point = self.checkpoint
        for number, line in enumerate(chunk, start=first):
            if not line.strip():
                continue
            point.read += 1
            try:
                event = to_touchpoint(line)
            except InvalidTouchpointError as exc:
                print(LineRejection(number, exc.failure_type, exc.issues), file=self.out)
                point.rejected += 1
                continue
            moment = event.occurred_at.astimezone(UTC).isoformat()
            point.first_event = min(point.first_event or moment, moment)
            point.last_event = max(point.last_event or moment, moment)
            point.too_old += event.occurred_at < self.oldest_counted
            sent.append((number, publisher.publish(event)))
        last = first + len(chunk) - 1
        stop = (
            f"the checkpoint stays after line {first - 1}: fix the cause and run the same "
            "command again to resume there"
        )
        try:
            publisher.flush(self.options.flush_timeout)
        except FlushTimeoutError as exc:
            raise BackfillError(
                f"the broker did not acknowledge {exc.pending} records of lines {first}-{last} "
                f"within {exc.timeout:.0f} s; {stop}"
            ) from exc
        failed = [(n, error) for n, future in sent
                  if isinstance(error := future.exception(timeout=30), DeliveryError)]  # fmt: skip
        if failed:
            number, error = failed[0]
            raise BackfillError(
                f"{len(failed)} records of lines {first}-{last} not delivered (line {number}: "
                f"{error.code}: {error.reason}); {stop}"
            )
        point.published += len(sent)
        point.lines_done = last
        if self.options.checkpoints is not None:
            point.save(self.options.checkpoints)
        self.progress()

    def progress(self) -> None:
        point = self.checkpoint
        done = point.lines_done
        where = f"line {done:,}"
        if self.total:
            where += f" of {self.total:,} ({100 * done / self.total:.0f}%)"
        rate = (done - self.lines_at_start) / max(time.monotonic() - self.started, 1e-3)
        print(
            f"backfill: {where}: {point.published:,} published, {point.rejected:,} rejected, "
            f"{rate:,.0f} lines/s",
            file=self.out,
            flush=True,
        )

    def summary(self, topic: str) -> list[str]:
        point = self.checkpoint
        lines = [f"{point.read} lines: {point.published} published, {point.rejected} rejected, "
                 f"0 failed (topic {topic})"]  # fmt: skip
        if point.first_event and point.last_event:
            window = _duration(self.options.longest_window)
            lines.append(
                f"event times {point.first_event} to {point.last_event}; {point.too_old} older "
                f"than the longest KPI window ({window}) before now: stored, outside the KPIs "
                "of workers that follow the clock (see docs/operations.md)"
            )
        return lines


def _duration(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def backfill_command(
    path: str,
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    options: BackfillOptions,
    out: TextIO = sys.stdout,
    publisher_options: PublisherOptions | None = None,
    publisher: Publisher | None = None,
) -> int:
    """Backfill ``path`` (``-``: standard input); the exit code (1 if any line was rejected)."""
    if options.chunk_lines < 1:
        raise BackfillError("--chunk-lines must be at least 1")
    identity: dict[str, Any] = {"topic": topics.touchpoints,
                                "bootstrap_servers": kafka.bootstrap_servers}  # fmt: skip
    total = None
    if path == "-":
        options = BackfillOptions(**{**asdict(options), "checkpoints": None})
        checkpoint = Checkpoint(file="-", sha256="-", **identity)
        print("backfill: standard input, no checkpoint (a second run publishes it again)",
              file=out)  # fmt: skip
    else:
        digest, total = fingerprint(Path(path))
        fresh = Checkpoint(file=str(Path(path).resolve()), sha256=digest, **identity)
        assert options.checkpoints is not None
        checkpoint = fresh if options.again else fresh.load(options.checkpoints)
        where = checkpoint.path(options.checkpoints)
        if checkpoint.complete:
            print(
                f"backfill: {path} (sha256 {digest[:12]}) was backfilled to {topics.touchpoints} "
                f"at {checkpoint.updated_at} ({checkpoint.published} published, "
                f"{checkpoint.rejected} rejected; checkpoint {where}): nothing published; "
                "--again publishes it once more (every event then stored twice)",
                file=out,
            )
            return 0
        if checkpoint.lines_done:
            print(f"backfill: resuming {path} after line {checkpoint.lines_done:,} "
                  f"(checkpoint {where})", file=out)  # fmt: skip
        else:
            checkpoint.save(options.checkpoints)  # fails now, not after a chunk, if it cannot
            print(f"backfill: {path}, {total:,} lines (checkpoint {where})", file=out)
    run = _Run(checkpoint, options, out, total)
    with ExitStack() as stack:
        source: IO[bytes] = (
            sys.stdin.buffer if path == "-" else stack.enter_context(Path(path).open("rb"))
        )
        sink = publisher or stack.enter_context(
            TouchpointPublisher(kafka=kafka, topics=topics, options=publisher_options)
        )
        for first, chunk in run.chunks(iter(source)):
            run.publish(sink, first, chunk)
    checkpoint.complete = True
    if options.checkpoints is not None:
        checkpoint.save(options.checkpoints)
    for line in run.summary(topics.touchpoints):
        print(line, file=out)
    return 1 if checkpoint.rejected else 0
