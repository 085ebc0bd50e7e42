"""Batching per topic-partition: size and time cuts, replayed boundaries, drain and forget."""

from __future__ import annotations

import pytest

from sinks.batching import Batch, BatchingSink, TopicPartition

A = TopicPartition("t", 0)
B = TopicPartition("t", 1)


class Collect(BatchingSink[str]):
    def write(self, batch: Batch[str]) -> None:  # pragma: no cover - not used here
        raise NotImplementedError


def test_size_cut_per_partition() -> None:
    sink = Collect(max_rows=2, max_seconds=10)
    assert sink.add(A, 0, "a0", now=0) == []
    assert sink.add(B, 5, "b5", now=0) == []
    [batch] = sink.add(A, 1, "a1", now=0)
    assert (batch.key, batch.items, batch.cut) == ("t:0:0-1", ["a0", "a1"], "size")
    assert sink.pending_rows() == 1


def test_time_cut() -> None:
    sink = Collect(max_rows=100, max_seconds=1.0)
    sink.add(A, 0, "a0", now=10.0)
    sink.add(B, 3, "b3", now=10.6)
    assert sink.due(now=10.9) == []
    [batch] = sink.due(now=11.0)
    assert (batch.key, batch.cut) == ("t:0:0-0", "time")
    assert [b.key for b in sink.due(now=11.6)] == ["t:1:3-3"]


def test_replayed_cuts_reproduce_earlier_boundaries() -> None:
    sink = Collect(max_rows=3, max_seconds=1.0)
    sink.replay_cuts(A, [2, 7, 1])  # 1 was committed already (reading resumes at 2)
    batches = [b for offset in range(2, 12) for b in sink.add(A, offset, "x", now=0)]
    # earlier run: 2 cut on time, 3-5 by size, 6-7 on time, then size cuts as before
    assert [(b.key, b.cut) for b in batches] == [
        ("t:0:2-2", "replay"),
        ("t:0:3-5", "size"),
        ("t:0:6-7", "replay"),
        ("t:0:8-10", "size"),
    ]


def test_replayed_cut_on_missing_offset_cuts_before_the_next() -> None:
    sink = Collect(max_rows=100, max_seconds=1.0)
    sink.replay_cuts(A, [5])
    sink.add(A, 3, "x", now=0)
    [batch] = sink.add(A, 7, "y", now=0)  # offsets 4-5 compacted away
    assert batch.key == "t:0:3-3"
    assert [b.key for b in sink.drain()] == ["t:0:7-7"]


def test_time_cut_waits_for_a_replayed_cut() -> None:
    sink = Collect(max_rows=100, max_seconds=1.0)
    sink.replay_cuts(A, [9])
    sink.add(A, 3, "x", now=0)
    assert sink.due(now=5.0) == []
    assert [b.key for b in sink.due(now=30.0)] == ["t:0:3-3"]


def test_drain_and_forget() -> None:
    sink = Collect(max_rows=10, max_seconds=1.0)
    sink.add(A, 0, "a", now=0)
    sink.add(B, 0, "b", now=0)
    assert [(b.key, b.cut) for b in sink.drain([B])] == [("t:1:0-0", "drain")]
    sink.forget([A])
    assert sink.drain() == []


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Collect(max_rows=0, max_seconds=1)
