"""Faust tables written once per key per batch, instead of once per event.

Faust sends one changelog record per table write and takes the changelog partition from the
event being processed. A batch agent writes after the batch, outside any single event, so the
partition is given explicitly with :func:`writing_partition`: the source partition of the
events that touched the key (all events of an account share one partition).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust

_write_partition: ContextVar[int | None] = ContextVar("kam_write_partition", default=None)


class BatchTable(faust.Table[str, bytes]):
    """A table whose writes go to the changelog partition set by :func:`writing_partition`."""

    def partition_for_key(self, key: Any) -> int | None:
        partition = _write_partition.get()
        if partition is None:
            return super().partition_for_key(key)
        return partition


@contextmanager
def writing_partition(partition: int) -> Iterator[None]:
    """Direct :class:`BatchTable` writes in this block to ``partition`` of their changelog."""
    token = _write_partition.set(partition)
    try:
        yield
    finally:
        _write_partition.reset(token)


def batch_table(app: faust.App, name: str, *, partitions: int, **options: Any) -> BatchTable:
    """Declare a :class:`BatchTable` on ``app`` (like ``app.Table``)."""
    table = BatchTable(app, name=name, beacon=app.tables.beacon, partitions=partitions, **options)
    app.tables.add(table)
    return table
