"""Decoded KPI states kept next to the state table's bytes, so a busy key is not decoded again
at every batch that touches it.

An entry holds the exact bytes a state was encoded to; it is used only while the table still
holds those bytes, so a lost batch, a rebalance or a restore from the changelog can never serve
a state the table does not have. Taking an entry for an update removes it (the state is then
changed in place); the new bytes put it back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

from streams.kpis import ContactPointState

K = TypeVar("K", bound=Hashable)


class Decoded(NamedTuple):
    state: ContactPointState
    counted: int
    """Source offset of the last event the state counted."""
    recent: list[int]
    """Fingerprints of the last event ids it counted."""


class DecodedStates(Generic[K]):
    """At most ``capacity`` decoded states, the least recently kept dropped first (0: none)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[K, tuple[bytes, Decoded]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K, raw: bytes) -> Decoded | None:
        """The decoded form of ``raw`` if kept, to read only."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None and _same(entry[0], raw) else None

    def take(self, key: K, raw: bytes) -> Decoded | None:
        """The decoded form of ``raw`` if kept, removed: the caller may change it."""
        entry = self._entries.pop(key, None)
        return entry[1] if entry is not None and _same(entry[0], raw) else None

    def keep(self, key: K, raw: bytes, decoded: Decoded) -> None:
        """Remember that ``raw``, about to be stored, decodes to ``decoded``."""
        if not self.capacity:
            return
        self._entries.pop(key, None)
        if len(self._entries) >= self.capacity:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (raw, decoded)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def retain(self, keep: Callable[[K], bool]) -> None:
        """Drop the entries whose key ``keep`` refuses (e.g. partitions no longer owned)."""
        self._entries = {k: v for k, v in self._entries.items() if keep(k)}

    def clear(self) -> None:
        self._entries.clear()


def _same(kept: bytes, raw: bytes) -> bool:
    return kept is raw or kept == raw
