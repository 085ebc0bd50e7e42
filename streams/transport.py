"""Faust's Kafka consumer, made to lose no record around a rebalance.

Faust 0.15 drops records in two places around a rebalance and counts on the seek to the
committed offsets that ends it to fetch them again:

- records of a partition not yet resumed are discarded; aiokafka's ``seek_to_committed`` seeks
  only where an offset above 0 is committed, so on a partition without one (a group whose
  first worker died before its first commit) they stayed skipped;
- records fetched after the input partitions are resumed, while the seek is still running,
  are queued for the agents and then cleared from their queues when the flow resumes; the
  drain loop has meanwhile marked them read, so when the seek fetches them again they are
  discarded as already read, and the partition stalls until the next rebalance.

:class:`RebalanceSafeConsumer` sends uncommitted input partitions back to their start (what the
``earliest`` reset policy does for a new group) and holds fetched input records until the
rebalance has ended, so they reach the agents after the queues are cleared, and hands each
record of a generation on once (the copies the seek fetches again are dropped). Events the
state already counts are recognised by their offsets (:mod:`streams.state`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar

import faust
from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, ConsumerT, TransportT

REBALANCE_POLL_SECONDS = 0.02


class RebalanceSafeConsumer(driver.Consumer):
    """Faust's aiokafka consumer with a complete rewind and no records lost to a queue clear."""

    _delivered: dict[TP, int]
    """The highest offset handed to the drain loop per input partition in this generation."""
    _delivered_generation: int = -1

    def _is_input(self, tp: TP) -> bool:
        return tp.topic not in self.app.tables.changelog_topics

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        uncommitted = [tp for tp, offset in committed.items() if not offset and self._is_input(tp)]
        if uncommitted:
            await self._thread.seek_to_beginning(*uncommitted)
        return committed

    async def _wait_next_records(
        self, timeout: float
    ) -> tuple[RecordMap | None, set[TP] | None]:
        records, active = await super()._wait_next_records(timeout)
        if not records or active is None:
            return records, active
        inputs = [tp for tp in records if tp in active and self._is_input(tp)]
        if inputs:
            generation = self.app.consumer_generation_id
            while self.app.rebalancing and not self.should_stop:
                if self.app.consumer_generation_id != generation:
                    return {}, active  # fetched before another rebalance: its seek rewinds
                await asyncio.sleep(REBALANCE_POLL_SECONDS)
            return self._skip_delivered(records, inputs), active
        return records, active

    def _skip_delivered(self, records: RecordMap, inputs: list[TP]) -> RecordMap:
        """Drop what this generation already handed on: records held through the seek that
        ended the rebalance are fetched again from the committed offsets."""
        generation = self.app.consumer_generation_id
        if generation != self._delivered_generation:  # the queues were cleared meanwhile
            self._delivered, self._delivered_generation = {}, generation
        kept = dict(records)
        for tp in inputs:
            last, batch = self._delivered.get(tp, -1), records[tp]
            seen = bool(batch) and batch[0].offset <= last
            fresh = [r for r in batch if r.offset > last] if seen else batch
            if fresh:
                self._delivered[tp] = fresh[-1].offset
                kept[tp] = fresh
            else:
                del kept[tp]
        return kept


class Transport(driver.Transport):
    """The aiokafka transport with :class:`RebalanceSafeConsumer`."""

    Consumer: ClassVar[type[ConsumerT]] = RebalanceSafeConsumer


class App(faust.App):
    """A Faust app whose consumer is a :class:`RebalanceSafeConsumer`."""

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)
