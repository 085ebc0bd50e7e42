"""The batching base every sink shares: batches per topic-partition, cut by size and time.

Pure bookkeeping (no Kafka, no clock reads: callers pass ``now``). A batch cut by size
(``max_rows`` items) is cut again at the same offset when re-read from the same start; the
boundaries of other batches (time, drain) can be recorded by the sink and replayed after a
restart with :meth:`BatchingSink.replay_cuts`. Either way a re-read batch ends where it ended
before, so its deduplication token is the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, TypeVar

T = TypeVar("T")
Cut = Literal["size", "replay", "time", "drain"]
"""Why a batch ended. Only ``size`` cuts are reproducible from the offsets alone."""

REPLAY_PATIENCE = 30.0
"""A batch waiting for a replayed cut is flushed on time after this many ``max_seconds``."""


class TopicPartition(NamedTuple):
    topic: str
    partition: int


@dataclass(slots=True)
class Batch(Generic[T]):
    """Consecutive items of one topic-partition, in offset order."""

    topic: str
    partition: int
    started_at: float
    offsets: list[int] = field(default_factory=list)
    items: list[T] = field(default_factory=list)
    cut: Cut = "drain"

    @property
    def first_offset(self) -> int:
        return self.offsets[0]

    @property
    def last_offset(self) -> int:
        return self.offsets[-1]

    @property
    def key(self) -> str:
        """``topic:partition:first-last``: the batch's deterministic deduplication token."""
        return f"{self.topic}:{self.partition}:{self.first_offset}-{self.last_offset}"

    def __len__(self) -> int:
        return len(self.offsets)


class BatchingSink(ABC, Generic[T]):
    """Accumulates items per topic-partition; subclasses implement :meth:`write`."""

    def __init__(self, *, max_rows: int, max_seconds: float) -> None:
        if max_rows < 1 or max_seconds <= 0:
            raise ValueError("max_rows must be >= 1 and max_seconds > 0")
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._pending: dict[TopicPartition, Batch[T]] = {}
        self._cuts: dict[TopicPartition, list[int]] = {}

    @abstractmethod
    def write(self, batch: Batch[T]) -> None:
        """Store the batch durably or raise; called again with the same batch on retry."""

    def replay_cuts(self, tp: TopicPartition, last_offsets: Iterable[int]) -> None:
        """Make batches of ``tp`` end exactly at these offsets (boundaries recorded earlier)."""
        cuts = self._cuts.setdefault(tp, [])
        for offset in last_offsets:
            if offset not in cuts:
                insort(cuts, offset)

    def add(self, tp: TopicPartition, offset: int, item: T, *, now: float) -> list[Batch[T]]:
        """Add one item; return the batches that became complete (in offset order)."""
        batch = self._pending.get(tp)
        cuts = self._cuts.get(tp)
        if batch is not None and not cuts:  # the common case, kept cheap
            batch.offsets.append(offset)
            batch.items.append(item)
            return [self._take(tp, "size")] if len(batch.offsets) >= self.max_rows else []
        ready: list[Batch[T]] = []
        if cuts:
            if batch is None:
                while cuts and cuts[0] < offset:  # boundaries of ranges already committed
                    cuts.pop(0)
            elif offset > cuts[0]:  # the recorded last offset is gone (e.g. compaction)
                cuts.pop(0)
                ready.append(self._take(tp, "replay"))
                batch = None
        if batch is None:
            batch = self._pending[tp] = Batch(
                topic=tp.topic, partition=tp.partition, started_at=now
            )
        batch.offsets.append(offset)
        batch.items.append(item)
        if cuts and offset == cuts[0]:
            cuts.pop(0)
            ready.append(self._take(tp, "replay"))
        elif len(batch) >= self.max_rows:
            ready.append(self._take(tp, "size"))
        return ready

    def due(self, *, now: float) -> list[Batch[T]]:
        """Take the batches older than ``max_seconds`` (or waiting too long for a replayed cut)."""
        ready = []
        for tp, batch in list(self._pending.items()):
            age = now - batch.started_at
            waiting_for_cut = bool(self._cuts.get(tp))
            if age >= self.max_seconds * (REPLAY_PATIENCE if waiting_for_cut else 1):
                if waiting_for_cut:
                    self._cuts[tp].pop(0)
                ready.append(self._take(tp, "time"))
        return ready

    def drain(self, partitions: Iterable[TopicPartition] | None = None) -> list[Batch[T]]:
        """Take every pending batch (of ``partitions`` only, when given)."""
        wanted = list(self._pending) if partitions is None else list(partitions)
        return [self._take(tp, "drain") for tp in wanted if tp in self._pending]

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop pending items and replay cuts of partitions this sink no longer owns."""
        for tp in partitions:
            self._pending.pop(tp, None)
            self._cuts.pop(tp, None)

    def pending_rows(self) -> int:
        return sum(len(batch) for batch in self._pending.values())

    def _take(self, tp: TopicPartition, cut: Cut) -> Batch[T]:
        batch = self._pending.pop(tp)
        batch.cut = cut
        return batch
