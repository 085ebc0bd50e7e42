"""The snoozes the account page shows: in force for the account, read at most once per ttl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kam.localkafka import free_port
from kam.settings import KafkaSettings, TopicSettings
from sinks.board.snoozes import (
    SnoozeCache,
    SnoozesUnavailableError,
    account_snoozes,
    read_snoozes,
)
from sinks.notify.snooze import Snooze, SnoozeBook

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def snooze(account: str, rule: str | None, hours: float) -> Snooze:
    return Snooze(account_id=account, rule=rule, until=NOW + timedelta(hours=hours),
                  reason="r", created_at=NOW - timedelta(days=1))


def test_account_snoozes_in_force_whole_account_first() -> None:
    book = SnoozeBook()
    for item in (snooze("acme", "b", 2), snooze("acme", None, 5), snooze("acme", "a", -1),
                 snooze("globex", None, 5)):
        book.apply(item.key, item)
    assert [(s.rule, s.until) for s in account_snoozes(book, "acme", NOW)] == [
        (None, NOW + timedelta(hours=5)), ("b", NOW + timedelta(hours=2))
    ]
    book.apply("acme:*", None)  # a tombstone lifts it
    assert [s.rule for s in account_snoozes(book, "acme", NOW)] == ["b"]


def test_an_unreachable_cluster_is_unavailable_within_the_timeout() -> None:
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    with pytest.raises(SnoozesUnavailableError, match="snoozes topic could not be read"):
        read_snoozes(kafka, TopicSettings(), timeout=0.5)


def test_the_cache_reads_once_per_ttl_failures_included() -> None:
    clock = [100.0]
    reads: list[str] = []
    book = SnoozeBook()

    def read(kafka: Any, topics: Any, *, timeout: float) -> SnoozeBook:
        reads.append("read")
        if len(reads) == 2:
            raise SnoozesUnavailableError("down")
        return book

    cache = SnoozeCache(KafkaSettings(), TopicSettings(), timeout=1, ttl=10,
                        clock=lambda: clock[0], read=read)
    assert cache.book() is book and cache.book() is book
    clock[0] = 110.0
    with pytest.raises(SnoozesUnavailableError, match="down"):
        cache.book()
    clock[0] = 119.0
    with pytest.raises(SnoozesUnavailableError, match="down"):  # not asked again yet
        cache.book()
    clock[0] = 120.0
    assert cache.book() is book
    assert reads == ["read", "read", "read"]
