"""The ClickHouse writer: Kafka message batches -> rows -> deduplicated inserts.

For every batch: its boundaries are recorded in ``sink_batches`` unless it was cut by size (so
that a restart re-reads the same batch), messages already stored under their origin are
dropped (:mod:`sinks.dedup`), each message is converted to rows, each table gets one insert
whose ``insert_deduplication_token`` is ``topic:partition:first-last`` of its rows, rows
ClickHouse refuses are isolated by bisection and written to ``failed_events``, and last the
highest stored version of each origin stream goes to ``sink_origins``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from schemas.origins import Version
from sinks import metrics
from sinks.backend import ClickHouseBackend, sql_string
from sinks.batching import Batch, BatchingSink, TopicPartition
from sinks.dedup import OriginFilter
from sinks.exceptions import RowsRejected
from sinks.rows import (
    COLUMNS,
    IngestColumns,
    Row,
    SourceMessage,
    TopicKind,
    convert,
    rejected_row,
    touchpoint_ingest_columns,
)
from sinks.splitting import isolate_rejected

FAILED_EVENTS = "failed_events"
ORIGIN_COLUMNS = ("consumer_group", "topic", "partition", "stream", "major", "minor", "last_offset")


class Entry(NamedTuple):
    """One row bound for a table, with the message it came from."""

    message: SourceMessage
    row: Row


def rows_token(topic: str, partition: int, messages: Sequence[SourceMessage]) -> str:
    """``topic:partition:first-last`` over the offsets of the messages of these rows."""
    return f"{topic}:{partition}:{messages[0].offset}-{messages[-1].offset}"


def tables_of(kind: TopicKind, messages: Sequence[SourceMessage]) -> dict[str, list[Entry]]:
    """Rows per table for a batch, rows in offset order."""
    tables: dict[str, list[Entry]] = {}
    for message in messages:
        for table, row in convert(kind, message):
            tables.setdefault(table, []).append(Entry(message, row))
    return tables


class ClickHouseWriter(BatchingSink[SourceMessage]):
    """Writes batches of one consumer group's topics to ClickHouse, exactly once per batch."""

    def __init__(
        self,
        *,
        backend: ClickHouseBackend,
        routes: Mapping[str, TopicKind],
        group_id: str,
        max_rows: int,
        max_seconds: float,
    ) -> None:
        super().__init__(max_rows=max_rows, max_seconds=max_seconds)
        self._backend = backend
        self._routes = dict(routes)
        self._group_id = group_id
        self._origins = OriginFilter(self._stored_versions)

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        partitions = list(partitions)
        super().forget(partitions)
        self._origins.forget(partitions)

    def _stored_versions(
        self, tp: TopicPartition, streams: Sequence[str], before: int
    ) -> dict[str, Version]:
        """Highest version of each of ``streams`` stored from ``tp`` by batches ending before
        offset ``before``."""
        found: dict[str, Version] = {}
        for start in range(0, len(streams), 1000):
            chunk = ", ".join(sql_string(stream) for stream in streams[start : start + 1000])
            result = self._backend.query(
                "SELECT stream, max((major, minor)) FROM sink_origins"
                f" WHERE consumer_group = {sql_string(self._group_id)}"
                f" AND topic = {sql_string(tp.topic)} AND partition = {int(tp.partition)}"
                f" AND stream IN ({chunk}) AND last_offset < {int(before)} GROUP BY stream"
            )
            found.update({row[0]: (int(row[1][0]), int(row[1][1])) for row in result.rows})
        return found

    def recorded_cuts(self, tp: TopicPartition, committed: int) -> list[int]:
        """Last offsets of batches recorded at or after ``committed`` (to replay after a crash)."""
        result = self._backend.query(
            "SELECT DISTINCT last_offset FROM sink_batches"
            f" WHERE consumer_group = {sql_string(self._group_id)}"
            f" AND topic = {sql_string(tp.topic)}"
            f" AND partition = {int(tp.partition)} AND last_offset >= {int(committed)}"
            " ORDER BY last_offset"
        )
        return [int(row[0]) for row in result.rows]

    def write(self, batch: Batch[SourceMessage]) -> None:
        started = time.perf_counter()
        if batch.cut in ("time", "drain"):  # size cuts recur by themselves, replays are recorded
            self._backend.insert(
                "sink_batches",
                ["consumer_group", "topic", "partition", "first_offset", "last_offset"],
                [[self._group_id, batch.topic, batch.partition, *_range(batch)]],
                dedup_token=f"{self._group_id}:{batch.key}",
            )
        tp = TopicPartition(batch.topic, batch.partition)
        messages, highest = self._origins.new_messages(tp, batch.first_offset, batch.items)
        metrics.REPEATS_DROPPED.labels(topic=batch.topic).inc(len(batch.items) - len(messages))
        kind = self._routes[batch.topic]
        if kind == "enriched":  # the bulk of the traffic: columnar, see touchpoint_ingest_columns
            ingest = touchpoint_ingest_columns(messages)
            failed = [Entry(message, row) for message, row in ingest.failed]
            failed.extend(self._insert_ingest(batch, ingest))
        else:
            tables = tables_of(kind, messages)
            failed = tables.pop(FAILED_EVENTS, [])
            for table, entries in tables.items():
                failed.extend(self._insert_rejecting(batch, table, entries))
        failed.sort(key=lambda entry: entry.message.offset)
        unstorable = self._insert_isolating(batch, FAILED_EVENTS, failed)
        if unstorable:
            raise unstorable[0][1]  # nowhere left to keep these rows: stop, commit nothing
        if highest:
            self._backend.insert(
                "sink_origins",
                ORIGIN_COLUMNS,
                [
                    [self._group_id, *tp, stream, *version, batch.last_offset]
                    for stream, version in highest.items()
                ],
                dedup_token=f"{self._group_id}:origins:{batch.key}",
            )
        self._origins.stored(tp, batch.last_offset, highest)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _insert_ingest(self, batch: Batch[SourceMessage], ingest: IngestColumns) -> list[Entry]:
        """Insert the batch's ``touchpoints_ingest`` columns in one columnar insert; when
        ClickHouse refuses it, the same rows go the row way (isolated by bisection, the same
        first token), so a refused row is kept exactly as before. ``failed_events`` rows of
        the refused ones are returned."""
        if not ingest.messages:
            return []
        table = "touchpoints_ingest"
        token = rows_token(batch.topic, batch.partition, ingest.messages)
        try:
            self._counted(table, len(ingest.messages), lambda: self._backend.insert_columns(
                table, COLUMNS[table], ingest.columns, dedup_token=token
            ))  # fmt: skip
        except RowsRejected:
            rows = zip(ingest.messages, zip(*ingest.columns, strict=True), strict=True)
            return self._insert_rejecting(batch, table, [Entry(*pair) for pair in rows])
        return []

    def _insert_rejecting(
        self, batch: Batch[SourceMessage], table: str, entries: Sequence[Entry]
    ) -> list[Entry]:
        """Insert rows into ``table``; ``failed_events`` rows of those ClickHouse refused."""
        return [
            Entry(entry.message, rejected_row(entry.message, str(error)))
            for entry, error in self._insert_isolating(batch, table, entries)
        ]

    def _insert_isolating(
        self, batch: Batch[SourceMessage], table: str, entries: Sequence[Entry]
    ) -> list[tuple[Entry, Exception]]:
        columns = COLUMNS[table]

        def insert(part: Sequence[Entry]) -> None:
            self._counted(table, len(part), lambda: self._backend.insert(
                table,
                columns,
                [entry.row for entry in part],
                dedup_token=rows_token(batch.topic, batch.partition, [e.message for e in part]),
            ))  # fmt: skip

        rejected = isolate_rejected(entries, insert)
        if rejected:
            metrics.ROWS_REJECTED.labels(table=table).inc(len(rejected))
        return list(rejected)

    @staticmethod
    def _counted(table: str, rows: int, insert: Callable[[], None]) -> None:
        try:
            insert()
        except Exception as exc:
            metrics.INSERT_ERRORS.labels(table=table, error=type(exc).__name__).inc()
            raise
        metrics.ROWS_WRITTEN.labels(table=table).inc(rows)


def _range(batch: Batch[SourceMessage]) -> tuple[int, int]:
    return batch.first_offset, batch.last_offset
