"""The columnar build of enriched batches gives exactly the rows the per-message path gives."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from sinks.rows import COLUMNS, SourceMessage, convert, touchpoint_ingest_columns
from tests.unit.sinks.samples import KAFKA_TIME, enriched_json

HOSTILE = [
    enriched_json("ev-0"),
    None,  # no value
    b"\xff\xfe{}",  # not UTF-8
    b"not json at all",  # text: ClickHouse's parse routes it to failed_events
    b'{"event": {"event_id": "ev-x"}}',  # missing fields: the same
    enriched_json("ev-5").replace(b'"strategic"', b'"platinum"'),  # refused enum
    "caf\u00e9 {}".encode(),  # multi-byte UTF-8
    b"",
]


def messages_of(values: list[bytes | None]) -> list[SourceMessage]:
    return [
        SourceMessage("enr", 2, 10 + i, value, KAFKA_TIME + timedelta(milliseconds=i))
        for i, value in enumerate(values)
    ]


def per_message(messages: list[SourceMessage]) -> list[tuple[int, str, tuple[object, ...]]]:
    """``(offset, table, row)`` of every row, the way ``convert`` gives them one by one."""
    return [(m.offset, table, row) for m in messages for table, row in convert("enriched", m)]


def columnar(messages: list[SourceMessage]) -> list[tuple[int, str, tuple[object, ...]]]:
    ingest = touchpoint_ingest_columns(messages)
    assert len(ingest.columns) == len(COLUMNS["touchpoints_ingest"])
    assert all(len(column) == len(ingest.messages) for column in ingest.columns)
    rows = zip(ingest.messages, zip(*ingest.columns, strict=True), strict=True)
    found = [(m.offset, "touchpoints_ingest", row) for m, row in rows]
    found += [(m.offset, "failed_events", row) for m, row in ingest.failed]
    return sorted(found, key=lambda found_row: found_row[0])


def test_hostile_batch_gives_the_same_rows_and_failed_rows() -> None:
    messages = messages_of(HOSTILE)
    expected = per_message(messages)
    assert columnar(messages) == expected
    failed = [offset for offset, table, _ in expected if table == "failed_events"]
    assert failed == [11, 12]  # no value, not UTF-8; the others are ClickHouse's to judge


def test_batch_without_a_usable_message_gives_empty_columns() -> None:
    ingest = touchpoint_ingest_columns(messages_of([None, b"\xff"]))
    assert ingest.messages == []
    assert ingest.columns == [[] for _ in COLUMNS["touchpoints_ingest"]]
    assert [m.offset for m, _ in ingest.failed] == [10, 11]


@given(st.lists(st.one_of(st.none(), st.binary(max_size=40), st.sampled_from(HOSTILE))))
def test_any_batch_gives_the_rows_of_convert(values: list[bytes | None]) -> None:
    messages = messages_of(values)
    assert columnar(messages) == per_message(messages)
