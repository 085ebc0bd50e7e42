"""Which messages of a batch are new: the sink's half of exactly-once storage.

A restarted stream worker sends again outputs it had already sent, at new offsets, with the
same origin (:mod:`schemas.origins`). Within one partition of a topic the versions of a stream
only grow except for such repeats, so a message is new exactly when its version is above the
highest one stored for its stream in that partition by the batches before its own. Each batch
records the highest versions it stored in the ``sink_origins`` table, with its last offset,
after its rows and before its offsets are committed.

A batch read again after a crash (same boundaries, see :mod:`sinks.batching`) is filtered
against the versions of the batches before it, whether or not it was stored already: it gives
the same rows and the same deduplication tokens, and ClickHouse drops the repeated blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from schemas.origins import Origin, Version
from sinks.batching import TopicPartition

Lookup = Callable[[TopicPartition, Sequence[str], int], Mapping[str, Version]]
"""Highest version per stream stored from a topic-partition by the batches that ended before
an offset, for the streams asked (absent: none)."""
NONE_STORED: Version = (-1, -1)


class Originated(Protocol):
    @property
    def origin(self) -> Origin | None: ...


M = TypeVar("M", bound=Originated)


class OriginFilter:
    """Highest stored versions per topic-partition and stream, read lazily and cached."""

    def __init__(self, lookup: Lookup, *, max_streams: int = 200_000) -> None:
        self._lookup = lookup
        self._stored: dict[TopicPartition, dict[str, Version]] = {}
        self._through: dict[TopicPartition, int] = {}
        """Per topic-partition: the last offset the cached versions cover."""
        self._max_streams = max_streams

    def new_messages(
        self, tp: TopicPartition, first_offset: int, messages: Iterable[M]
    ) -> tuple[list[M], dict[str, Version]]:
        """The messages of a batch starting at ``first_offset`` that no batch before it stored
        (nor an earlier message of the batch), and the highest version per stream once they
        are stored; nothing is remembered until :meth:`stored`."""
        messages = list(messages)
        if first_offset <= self._through.get(tp, -1):  # read again: the cache is past it
            self.forget([tp])
        known = self._stored.setdefault(tp, {})
        missing = sorted({m.origin.stream for m in messages if m.origin is not None} - known.keys())
        if missing:
            found = self._lookup(tp, missing, first_offset)
            for stream in missing:
                known[stream] = found.get(stream, NONE_STORED)
        highest: dict[str, Version] = {}
        kept: list[M] = []
        for message in messages:
            origin = message.origin
            if origin is None:
                kept.append(message)  # from a producer that sets no origin: nothing to compare
                continue
            if origin.version > highest.get(origin.stream, known[origin.stream]):
                kept.append(message)
                highest[origin.stream] = origin.version
        return kept, highest

    def stored(self, tp: TopicPartition, last_offset: int, highest: Mapping[str, Version]) -> None:
        """Remember the versions a batch ending at ``last_offset`` stored."""
        self._through[tp] = last_offset
        known = self._stored.setdefault(tp, {})
        known.update(highest)
        if len(known) > self._max_streams:  # forget the oldest half; they are read again
            for stream in list(known)[: len(known) // 2]:
                del known[stream]

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._stored.pop(tp, None)
            self._through.pop(tp, None)
