"""At-least-once bookkeeping: an offset is committable once all its notifications are done."""

from __future__ import annotations

from dataclasses import dataclass, field

from sinks.notify.grouping import MessageRef

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class _Partition:
    next_offset: int
    pending: dict[int, int] = field(default_factory=dict)
    committed: int | None = None


class OffsetTracker:
    """Per partition: offsets still waiting for deliveries, and the next offset to commit."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}

    def track(self, ref: MessageRef, holds: int) -> None:
        """A message was read; ``holds`` notifications (maybe 0) must finish before committing."""
        part = self._partitions.setdefault(
            (ref.topic, ref.partition), _Partition(next_offset=ref.offset + 1)
        )
        part.next_offset = max(part.next_offset, ref.offset + 1)
        if holds > 0:
            part.pending[ref.offset] = part.pending.get(ref.offset, 0) + holds

    def release(self, ref: MessageRef) -> None:
        """One notification holding ``ref`` was delivered or recorded undeliverable."""
        part = self._partitions.get((ref.topic, ref.partition))
        if part is None or ref.offset not in part.pending:
            return
        part.pending[ref.offset] -= 1
        if part.pending[ref.offset] <= 0:
            del part.pending[ref.offset]

    def committable(self) -> dict[TopicPartition, int]:
        """Offsets to commit now (next offset to read), only where they moved since last time."""
        result = {}
        for tp, part in self._partitions.items():
            offset = min(part.pending, default=part.next_offset)
            if part.committed is None or offset > part.committed:
                result[tp] = offset
        return result

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            if tp in self._partitions:
                self._partitions[tp].committed = offset

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Partitions revoked in a rebalance: their uncommitted offsets are someone else's now."""
        for tp in partitions:
            self._partitions.pop(tp, None)

    def pending(self) -> int:
        return sum(len(part.pending) for part in self._partitions.values())
