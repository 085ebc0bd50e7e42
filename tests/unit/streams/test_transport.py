"""The worker's consumer rewinds partitions without a committed offset on "seek to committed"."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from faust.types import TP

from streams.transport import _ConsumerThread

SOURCE, CHANGELOG = "t.touchpoints", "kam-state-changelog"


class FakeConsumer:
    """The aiokafka consumer calls the thread makes, recorded."""

    def __init__(self, committed: Mapping[TP, int | None]) -> None:
        self.committed = committed
        self.rewound: list[TP] = []

    async def seek_to_committed(self) -> Mapping[TP, int | None]:
        return self.committed

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.rewound.extend(partitions)


class FakeFaustConsumer:
    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic == CHANGELOG


def test_uncommitted_source_partitions_go_back_to_their_beginning() -> None:
    committed = {
        TP(SOURCE, 0): None,
        TP(SOURCE, 1): 0,
        TP(SOURCE, 2): 17,
        TP(CHANGELOG, 0): None,
    }
    aiokafka = FakeConsumer(committed)
    thread = _ConsumerThread.__new__(_ConsumerThread)  # only the seek, no running service
    thread._consumer = aiokafka  # type: ignore[assignment]
    thread.consumer = FakeFaustConsumer()  # type: ignore[assignment]
    assert asyncio.run(thread._seek_to_committed_or_beginning()) == committed
    assert aiokafka.rewound == [TP(SOURCE, 0), TP(SOURCE, 1)]
