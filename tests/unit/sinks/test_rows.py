"""Row conversion per topic: exact rows from documents as the pipeline publishes them."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas import DeadLetter, FailureType
from schemas.failures import MAX_ORIGINAL_BYTES
from sinks.rows import COLUMNS, SourceMessage, convert, rejected_row
from tests.unit.sinks.samples import (
    KAFKA_TIME,
    T0,
    alert_json,
    dead_letter_json,
    enriched_json,
    message,
)

KPI_UPDATE = (
    b'{"account_id": "a", "contact_point": "support", "tier": "key",'
    b' "as_of": "2026-03-01T23:00:00Z", "computed_at": "2026-03-02T00:00:00Z",'
    b' "windows": {"7d": {"csat_avg": 4.5, "nps": null}, "30d": {"csat_avg": 4, "nps": 20}},'
    b' "window_bounds": {"7d": ["2026-02-23T00:00:00Z", "2026-03-02T00:00:00Z"],'
    b' "30d": ["2026-01-31T00:00:00Z", "2026-03-02T00:00:00Z"]}}'
)


def by_table(kind: str, value: SourceMessage) -> dict[str, Any]:
    """Rows of one message by table (one row per table for every kind but KPI updates)."""
    return dict(convert(kind, value))  # type: ignore[arg-type]


def test_kpi_update_gives_one_row_per_window_and_kpi_null_where_no_data() -> None:
    rows = convert("kpis", message(KPI_UPDATE, offset=4, topic="kpis", partition=1))
    at, as_of = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 1, 23, tzinfo=UTC)
    week = (datetime(2026, 2, 23, tzinfo=UTC), at)
    month = (datetime(2026, 1, 31, tzinfo=UTC), at)
    source = ("kpis", 1, 4)
    assert rows == [
        ("kpi_snapshots", ("a", "support", "7d", "csat_avg", 4.5, at, *source, as_of, *week)),
        ("kpi_snapshots", ("a", "support", "7d", "nps", None, at, *source, as_of, *week)),
        ("kpi_snapshots", ("a", "support", "30d", "csat_avg", 4.0, at, *source, as_of, *month)),
        ("kpi_snapshots", ("a", "support", "30d", "nps", 20.0, at, *source, as_of, *month)),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("windows", "field_path"),
    [
        (b'{"7d": 4.5}', "windows.7d"),
        (b'{"7d": {"csat_avg": "4.5"}}', "windows.7d.csat_avg"),
        (b'{"7d": {"csat_avg": true}}', "windows.7d.csat_avg"),
    ],
)
def test_kpi_update_with_bad_windows_is_a_failed_event_at_its_field(
    windows: bytes, field_path: str
) -> None:
    value = KPI_UPDATE.split(b' "windows": ')[0] + b' "windows": ' + windows + b"}"
    ((table, row),) = convert("kpis", message(value))
    assert (table, row[0], row[2]) == ("failed_events", "sink_undecodable", field_path)


def test_every_row_matches_its_column_list() -> None:
    samples = {
        "enriched": enriched_json(),
        "deadletter": dead_letter_json(),
        "alerts": alert_json(),
        "accounts": b'{"account_id": "acme", "name": "Acme"}',
        "kpis": KPI_UPDATE,
    }
    for kind, value in samples.items():
        for table, row in convert(kind, message(value)):  # type: ignore[arg-type]
            assert len(row) == len(COLUMNS[table]), table


def test_enriched_touchpoint_goes_to_clickhouse_as_text() -> None:
    value = enriched_json()
    rows = by_table("enriched", message(value, offset=7, topic="enr", partition=3))
    assert rows == {"touchpoints_ingest": (value.decode(), KAFKA_TIME, "enr", 3, 7)}


def test_dead_letter_row_keeps_original_base64() -> None:
    rows = by_table("deadletter", message(dead_letter_json(), offset=9, topic="dlq"))
    row = rows["failed_events"]
    assert row == (
        "not_json", "expected value at line 1", None, "kam.touchpoints", 2, 41,
        base64.b64encode(b"{oops").decode(), T0, "dlq", 1, 9, None, None, False,
    )  # fmt: skip


def test_dead_letter_row_keeps_the_size_and_hash_of_a_truncated_original() -> None:
    raw = b"x" * (MAX_ORIGINAL_BYTES + 10)
    letter = DeadLetter.keeping(
        raw,
        failure_type=FailureType.OVERSIZE,
        detail="too big",
        source_topic="kam.touchpoints",
        source_partition=2,
        source_offset=41,
        received_at=T0,
    )
    row = by_table("deadletter", message(letter.model_dump_json().encode(), offset=9))
    assert row["failed_events"][6:] == (
        base64.b64encode(raw[:MAX_ORIGINAL_BYTES]).decode(), T0, "t", 1, 9,
        len(raw), hashlib.sha256(raw).hexdigest(), True,
    )  # fmt: skip


def test_alert_row() -> None:
    row = dict(
        zip(COLUMNS["alerts"], by_table("alerts", message(alert_json()))["alerts"], strict=True)
    )
    assert row["alert_key"] == "acme:logistics:otif_low"
    assert row["evidence"] == '{"deliveries":4,"otif":0.5}'
    assert row["event_ids"] == ["ev-1", "ev-2"]
    assert row["status"] == "firing"
    assert row["updated_at"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_account_rows_keep_the_tiering_criteria_as_attributes() -> None:
    value = orjson.dumps(
        {"account_id": "acme", "name": "Acme", "tier": "key", "segment": "retail",
         "annual_revenue_eur": 2e9, "growth_potential": 8, "tier_model_version": "2026-1"}
    )
    rows = by_table("accounts", message(value, offset=3, topic="acc", partition=0))
    assert rows["accounts"][6] == "retail"
    assert orjson.loads(rows["accounts"][9]) == {
        "annual_revenue_eur": 2e9, "growth_potential": 8, "tier_model_version": "2026-1"
    }


def test_account_rows_keep_unknown_fields_as_attributes() -> None:
    value = orjson.dumps(
        {
            "account_id": "acme",
            "name": "Acme",
            "tier": "strategic",
            "tier_score": 88,
            "criteria": {"purchase_volume": 30.0, "growth": 12.5},
            "override_reason": None,
        }
    )
    rows = by_table("accounts", message(value, offset=3, topic="acc", partition=0))
    assert rows["accounts"] == (
        "acme", "Acme", "strategic", 88, None, None, None, None, KAFKA_TIME,
        '{"criteria":{"growth":12.5,"purchase_volume":30.0},"override_reason":null}',
        "acc", 0, 3,
    )  # fmt: skip
    assert rows["account_tier_history"] == (
        "acme", "Acme", "strategic", 88, None, None, KAFKA_TIME,
        '{"criteria":{"growth":12.5,"purchase_volume":30.0},"override_reason":null}',
        "acc", 0, 3,
    )  # fmt: skip


def test_account_tombstone_gives_no_row() -> None:
    assert by_table("accounts", message(None)) == {}


def test_undecodable_messages_become_failed_events() -> None:
    cases = {
        b"\xff\xfe": ("sink_undecodable", None),
        b"[1, 2]": ("sink_undecodable", None),
        b'{"alert_key": "k"}': ("sink_undecodable", "account_id"),
        alert_json().replace(b"2026-03-02T10:00:00Z", b"yesterday"): (
            "sink_undecodable",
            "updated_at",
        ),
    }
    for value, (failure_type, field_path) in cases.items():
        rows = by_table("alerts", message(value, offset=11))
        assert list(rows) == ["failed_events"]
        row = rows["failed_events"]
        assert (row[0], row[2]) == (failure_type, field_path)
        assert base64.b64decode(row[6]) == value
        assert row[7] == KAFKA_TIME
        assert row[3:6] == ("t", 1, 11)
    none = by_table("alerts", message(None))["failed_events"]
    assert none[1] == "message has no value"
    not_utf8 = by_table("enriched", message(b"\xff{}"))["failed_events"]
    assert not_utf8[:3] == ("sink_undecodable", "not UTF-8: invalid start byte at byte 0", None)


def test_rejected_row_names_the_refused_field() -> None:
    error = "Code: 691. Unknown element 'platinum' for enum: (while reading the value of key tier)"
    row = rejected_row(message(b"{}", offset=4), error)
    assert row[:3] == ("sink_rejected", error, "tier")
