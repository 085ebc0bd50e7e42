"""BatchTable: writes outside any event go to the changelog partition named by the caller.

The app is built but never started (no broker is contacted); writing through the table to its
changelog is covered by the worker's integration test.
"""

from __future__ import annotations

import asyncio

import faust
import pytest

from streams.tables import BatchTable, batch_table, writing_partition


@pytest.fixture
def table() -> BatchTable:
    app = faust.App("kam-unit-tables", broker="kafka://127.0.0.1:9", store="memory://")
    declared = batch_table(app, "state", partitions=4, key_type=str, value_type=bytes)
    assert app.tables["state"] is declared
    return declared


def test_batch_table_is_declared_on_the_app(table: BatchTable) -> None:
    assert (type(table), table.name, table.partitions) == (BatchTable, "state", 4)


def test_writes_go_to_the_partition_given_by_the_block(table: BatchTable) -> None:
    with writing_partition(3):
        assert table.partition_for_key("2/offset") == 3
        with writing_partition(1):
            assert table.partition_for_key("2/offset") == 1
        assert table.partition_for_key("2/offset") == 3


def test_outside_a_block_and_an_event_faust_refuses_the_write(table: BatchTable) -> None:
    with pytest.raises(TypeError, match="outside of stream iteration"):
        table.partition_for_key("2/offset")


def test_the_partition_is_reset_when_the_block_raises(table: BatchTable) -> None:
    with pytest.raises(RuntimeError), writing_partition(2):
        raise RuntimeError("send failed")
    with pytest.raises(TypeError):
        table.partition_for_key("2/offset")


def test_concurrent_tasks_do_not_see_each_others_partition(table: BatchTable) -> None:
    async def write(partition: int, entered: asyncio.Event, other: asyncio.Event) -> int | None:
        with writing_partition(partition):
            entered.set()
            await other.wait()  # both blocks are open now
            return table.partition_for_key("key")

    async def main() -> list[int | None]:
        first, second = asyncio.Event(), asyncio.Event()
        return list(await asyncio.gather(write(0, first, second), write(3, second, first)))

    assert asyncio.run(main()) == [0, 3]
