"""Bisection isolates exactly the refused rows and inserts all the others."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sinks.exceptions import ClickHouseUnavailable, RowsRejected
from sinks.splitting import isolate_rejected


class Table:
    """Refuses any insert containing a bad row, like ClickHouse refuses a whole block."""

    def __init__(self, bad: set[int]) -> None:
        self.bad = bad
        self.rows: list[int] = []
        self.attempts: list[list[int]] = []

    def insert(self, part: Sequence[int]) -> None:
        self.attempts.append(list(part))
        if self.bad.intersection(part):
            raise RowsRejected(f"bad {sorted(self.bad.intersection(part))}", code=691)
        self.rows.extend(part)


def test_clean_batch_is_one_insert() -> None:
    table = Table(bad=set())
    assert isolate_rejected(list(range(8)), table.insert) == []
    assert table.attempts == [list(range(8))]


def test_bad_rows_are_isolated() -> None:
    table = Table(bad={2, 7})
    rejected = isolate_rejected(list(range(8)), table.insert)
    assert [row for row, _ in rejected] == [2, 7]
    assert [error.code for _, error in rejected] == [691, 691]
    assert sorted(table.rows) == [0, 1, 3, 4, 5, 6]
    assert table.attempts == [
        [0, 1, 2, 3, 4, 5, 6, 7],
        [0, 1, 2, 3], [0, 1], [2, 3], [2], [3],
        [4, 5, 6, 7], [4, 5], [6, 7], [6], [7],
    ]  # fmt: skip


def test_unavailable_propagates() -> None:
    def down(part: Sequence[int]) -> None:
        raise ClickHouseUnavailable("down", retry_after=2.0)

    with pytest.raises(ClickHouseUnavailable):
        isolate_rejected([1, 2], down)
