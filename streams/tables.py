"""Faust tables written once per key per batch, instead of once per event.

Faust sends one changelog record per table write, through its producer buffer and aiokafka, one
future and a few tasks per record, and takes the changelog partition from the event being
processed. A batch agent writes after the batch, outside any single event, and writes hundreds of
keys at a time: :meth:`BatchTable.apply` sets the batch's values in the table's store directly
and returns their changelog records (serialized by the table's own codecs), which the caller
produces in bulk to the partition given with each write, the source partition of the events that
touched the key (all events of an account share one partition), and waits for.

The store must be Faust's in-memory one (the worker's ``store="memory://"``): it keeps no
changelog offsets of its own, so records produced beside Faust's producer recover it the same
way (a restarted worker reads the changelog from its start).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import faust


@dataclass(frozen=True, slots=True)
class ChangelogRecord:
    """One changelog record of a table write (``value`` ``None``: the key was deleted)."""

    topic: str
    partition: int
    key: bytes
    value: bytes | None


class BatchTable(faust.Table[str, bytes]):
    """A table written a batch at a time, its changelog records produced by the caller."""

    def apply(self, writes: Mapping[int, Mapping[str, bytes | None]]) -> list[ChangelogRecord]:
        """Apply ``writes`` (per changelog partition: key -> value, ``None`` deletes) to the
        table and return their changelog records, one per key, in the order given."""
        self.stage(writes)
        return self.changelog(writes)

    def stage(self, writes: Mapping[int, Mapping[str, bytes | None]]) -> None:
        """Apply ``writes`` to the table's store only: their changelog records come later,
        from :meth:`changelog` (a batch processed in slices, each reading the last one's)."""
        store = self.data
        for changes in writes.values():
            for key, value in changes.items():
                if value is None:
                    store.pop(key, None)
                else:
                    store[key] = value

    def changelog(self, writes: Mapping[int, Mapping[str, bytes | None]]) -> list[ChangelogRecord]:
        """The changelog records of ``writes``, one per key, in the order given."""
        topic = self.changelog_topic
        name = topic.get_topic_name()
        serializer = self.key_serializer
        records: list[ChangelogRecord] = []
        for partition, changes in writes.items():
            for key, value in changes.items():
                raw_key, _ = topic.prepare_key(key, serializer, None)
                assert isinstance(raw_key, bytes)  # a str key through the json codec
                records.append(ChangelogRecord(name, partition, raw_key, value))
        return records


def batch_table(app: faust.App, name: str, *, partitions: int, **options: Any) -> BatchTable:
    """Declare a :class:`BatchTable` on ``app`` (like ``app.Table``)."""
    table = BatchTable(app, name=name, beacon=app.tables.beacon, partitions=partitions, **options)
    app.tables.add(table)
    return table
