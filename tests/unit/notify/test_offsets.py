"""Offsets are committed only past messages whose notifications are all done."""

from __future__ import annotations

from sinks.notify.grouping import MessageRef
from sinks.notify.offsets import OffsetTracker


def _ref(offset: int, partition: int = 0) -> MessageRef:
    return MessageRef("kam.alerts", partition, offset)


def test_commit_waits_for_the_oldest_pending_offset() -> None:
    tracker = OffsetTracker()
    tracker.track(_ref(10), holds=2)
    tracker.track(_ref(11), holds=0)
    tracker.track(_ref(12), holds=1)
    tracker.track(_ref(3, partition=1), holds=0)
    assert tracker.committable() == {("kam.alerts", 0): 10, ("kam.alerts", 1): 4}
    tracker.committed(tracker.committable())
    tracker.release(_ref(12))
    assert tracker.committable() == {}
    tracker.release(_ref(10))
    assert tracker.committable() == {}
    tracker.release(_ref(10))
    assert tracker.committable() == {("kam.alerts", 0): 13}
    assert tracker.pending() == 0


def test_forget_revoked_partitions() -> None:
    tracker = OffsetTracker()
    tracker.track(_ref(5), holds=1)
    tracker.forget([("kam.alerts", 0)])
    tracker.release(_ref(5))
    assert tracker.committable() == {}
