"""BatchTable: a batch's writes go to the store at once and come back as changelog records, each
in the partition named by the caller, serialized as Faust serializes its own changelog writes.

The app is built but never started (no broker is contacted); producing the records and
recovering the table from them is covered by the worker's integration tests.
"""

from __future__ import annotations

import faust
import pytest

from streams.tables import BatchTable, ChangelogRecord, batch_table


@pytest.fixture
def table() -> BatchTable:
    app = faust.App("kam-unit-tables", broker="kafka://127.0.0.1:9", store="memory://")
    declared = batch_table(app, "state", partitions=4, key_type=str, value_type=bytes)
    assert app.tables["state"] is declared
    return declared


def test_batch_table_is_declared_on_the_app(table: BatchTable) -> None:
    assert (type(table), table.name, table.partitions) == (BatchTable, "state", 4)


def test_writes_land_in_the_table_and_in_the_partition_given(table: BatchTable) -> None:
    records = table.apply({3: {"3/offset": b"7", "3/kpi/support:acme": b"\x00s"}, 1: {"1/x": b"1"}})
    assert dict(table) == {"3/offset": b"7", "3/kpi/support:acme": b"\x00s", "1/x": b"1"}
    topic = table.changelog_topic.get_topic_name()
    assert records == [
        ChangelogRecord(topic, 3, b'"3/offset"', b"7"),
        ChangelogRecord(topic, 3, b'"3/kpi/support:acme"', b"\x00s"),
        ChangelogRecord(topic, 1, b'"1/x"', b"1"),
    ]


def test_a_none_value_deletes_the_key_with_a_tombstone(table: BatchTable) -> None:
    table.apply({2: {"2/alerts/acme": b"{}"}})
    [record] = table.apply({2: {"2/alerts/acme": None, "2/alerts/gone": None}})[:1]
    assert "2/alerts/acme" not in table and len(table) == 0
    assert (record.partition, record.key, record.value) == (2, b'"2/alerts/acme"', None)


@pytest.mark.parametrize("key", ["0/kpi/support:acme", "1/alerts/añejo \"q\"", "2/outbox"])
def test_keys_are_serialized_as_faust_serializes_its_own_writes(
    table: BatchTable, key: str
) -> None:
    """Byte for byte what ``table[key] = value`` sends, so recovery reads either the same."""
    faust_sent = table.changelog_topic.as_future_message(
        key=key, value=b"v", partition=0,
        key_serializer=table.key_serializer, value_serializer=table.value_serializer,
    ).message  # fmt: skip
    [record] = table.apply({0: {key: b"v"}})
    assert (record.key, record.value) == (faust_sent.key, faust_sent.value)


def test_staged_writes_reach_the_store_now_and_the_changelog_later(table: BatchTable) -> None:
    """A batch in slices: each slice's writes are staged for the next to read, the changelog
    records of the combined writes come once at the end (what ``apply`` returns at once)."""
    table.stage({0: {"0/offset": b"1", "0/outbox": b"{}"}})
    table.stage({0: {"0/offset": b"2", "0/outbox": None}})
    assert dict(table) == {"0/offset": b"2"}
    combined = {0: {"0/offset": b"2", "0/outbox": None}}
    topic = table.changelog_topic.get_topic_name()
    assert table.changelog(combined) == [
        ChangelogRecord(topic, 0, b'"0/offset"', b"2"),
        ChangelogRecord(topic, 0, b'"0/outbox"', None),
    ]
    assert dict(table) == {"0/offset": b"2"}  # records only: the store is left as staged
