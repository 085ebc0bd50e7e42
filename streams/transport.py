"""Faust's aiokafka transport, with "seek to committed" that also rewinds uncommitted partitions.

Records fetched while a rebalance stops the flow are dropped by Faust's consumer, which then
seeks every partition back to its committed offset to read them again. aiokafka's
``seek_to_committed`` only moves partitions whose committed offset is above 0, so a partition
never committed (or committed at 0) stays past the dropped records: they are never processed,
and Faust's commit, which looks for a gap only after a committed offset above 0, commits over
them. Here such source partitions go back to their beginning, where a consumer without a
committed offset starts (``consumer_auto_offset_reset="earliest"``); changelog partitions are
positioned by table recovery and left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, TransportT


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        return await self.call_thread(self._seek_to_committed_or_beginning)  # type: ignore[no-any-return]

    async def _seek_to_committed_or_beginning(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int] = await consumer.seek_to_committed()
        uncommitted = [
            tp
            for tp, offset in committed.items()
            if not offset and not self.consumer._is_changelog_tp(tp)
        ]
        if uncommitted:
            await consumer.seek_to_beginning(*uncommitted)
        return committed


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A Faust app whose consumer rewinds uncommitted partitions on "seek to committed"."""

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
