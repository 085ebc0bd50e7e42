"""Isolating the rows ClickHouse refuses: bisect a rejected insert until single rows remain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sinks.exceptions import RowsRejected

E = TypeVar("E")


def isolate_rejected(
    entries: Sequence[E], insert: Callable[[Sequence[E]], None]
) -> list[tuple[E, RowsRejected]]:
    """Insert ``entries``; when refused, insert each half separately, recursively.

    Returns the single entries that were still refused, with the error, in input order. Every
    other entry was inserted. Any error other than :class:`RowsRejected` propagates (a retry
    then repeats the same halves, so deterministic dedup tokens keep it exactly-once).
    """
    if not entries:
        return []
    try:
        insert(entries)
    except RowsRejected as exc:
        if len(entries) == 1:
            return [(entries[0], exc)]
        middle = len(entries) // 2
        return isolate_rejected(entries[:middle], insert) + isolate_rejected(
            entries[middle:], insert
        )
    return []
