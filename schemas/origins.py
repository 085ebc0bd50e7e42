"""Where a worker output comes from: the identity that makes replayed outputs harmless.

Every record the stream worker emits carries a ``kam-origin`` header, ``stream@major.minor``.
Within one partition of an output topic the versions of one stream only grow, except when a
restarted worker sends again what it had already sent; consumers (the ClickHouse sink, the
notifier) keep the highest version stored per stream and drop anything at or below it.

Streams and versions:

- an enriched touchpoint or dead letter: ``enriched/<topic>/<partition>`` (or ``deadletter/...``)
  of the source message, version ``(source offset, 0)``;
- an alert state: ``alerts/<partition>`` of the account's source partition, version
  ``(sequence, 0)``, a per-partition sequence stored in the worker's state before the alert is
  sent (the outbox, :mod:`streams.pipeline`);
- a KPI update: ``kpis/<contact point>/<account>``, version ``(as_of in ms, offset of the last
  event counted)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

ORIGIN_HEADER = "kam-origin"
Version = tuple[int, int]


class Origin(NamedTuple):
    stream: str
    version: Version

    def encode(self) -> bytes:
        return f"{self.stream}@{self.version[0]}.{self.version[1]}".encode()


def source_origin(kind: str, topic: str, partition: int, offset: int) -> Origin:
    """The origin of an output made from one source message."""
    return Origin(f"{kind}/{topic}/{partition}", (offset, 0))


def source_of(origin: Origin) -> tuple[str, int, int] | None:
    """``(topic, partition, offset)`` of the source message of a :func:`source_origin`."""
    _, topic, partition = [*origin.stream.split("/"), "", ""][:3]
    if not topic or not _is_int(partition):
        return None
    return topic, int(partition), origin.version[0]


def decode_origin(raw: bytes | str | None) -> Origin | None:
    """The origin in a header value; ``None`` when absent or not one (never raises)."""
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    stream, at, version = text.rpartition("@")
    major, dot, minor = version.partition(".")
    if not (stream and at and dot and _is_int(major) and _is_int(minor)):
        return None
    return Origin(stream, (int(major), int(minor)))


def header_origin(
    headers: Iterable[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
) -> Origin | None:
    """The origin among a message's headers (confluent-kafka's list of pairs, or a mapping)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == ORIGIN_HEADER:
            return decode_origin(value)
    return None


def _is_int(text: str) -> bool:
    return text.isascii() and text.lstrip("-").isdigit()
