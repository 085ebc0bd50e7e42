"""``kam publish FILE`` against the real broker: exact report, exit code and records."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kam.settings import KafkaSettings, TopicSettings
from producers.jsonlines import publish_command
from tests.integration.test_publish import read_records, topics

pytestmark = pytest.mark.integration
__all__ = ["topics"]


def delivery(event_id: str, account_id: str, delivered_qty: int) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "account_id": account_id,
            "occurred_at": "2026-03-02T12:00:00Z",
            "source_system": "tms",
            "trace_id": f"trace-{event_id}",
            "event_type": "delivery_completed",
            "payload": {
                "shipment_id": f"SH-{event_id}",
                "promised_at": "2026-03-02T11:00:00Z",
                "delivered_at": "2026-03-02T12:00:00Z",
                "ordered_qty": 10,
                "delivered_qty": delivered_qty,
            },
        }
    )


def test_publish_file_with_valid_and_invalid_lines(
    kafka_settings: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        delivery("e-1", "acct-1", 10).encode(),
        delivery("e-2", "acct-2", -1).encode(),
        b"",
        b'{"event_type": "carrier_pigeon", "account_id": "acct-3"}',
        delivery("e-3", "acct-3", 7).encode(),
        b"\xff\xfe",
        delivery("e-4", "acct-1", 9).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = io.StringIO()

    code = publish_command(str(path), kafka=kafka_settings, topics=topics, out=out)

    assert code == 1
    assert out.getvalue().splitlines() == [
        "line 2: schema_violation: payload.delivered_qty: "
        "Input should be greater than or equal to 0",
        "line 4: unknown_event_type: event_type: "
        'unknown event type "carrier_pigeon" (not in the catalogue)',
        "line 6: not_utf8: not UTF-8: invalid start byte at byte 0",
        f"6 lines: 3 published, 3 rejected, 0 failed (topic {topics.touchpoints})",
    ]
    records = read_records(kafka_settings, topics.touchpoints, 3)
    assert sorted((m.key().decode(), json.loads(m.value())["event_id"]) for m in records) == [
        ("acct-1", "e-1"),
        ("acct-1", "e-4"),
        ("acct-3", "e-3"),
    ]
    by_id = {json.loads(m.value())["event_id"]: m for m in records}
    assert json.loads(by_id["e-3"].value()) == {
        **json.loads(delivery("e-3", "acct-3", 7)),
        "schema_version": 1,
        "contact_point": "logistics",
        "payload": {**json.loads(delivery("e-3", "acct-3", 7))["payload"], "damaged_qty": 0},
    }
    assert dict(by_id["e-3"].headers())["trace-id"] == b"trace-e-3"
    # Same key, same partition, file order kept.
    assert [json.loads(m.value())["event_id"] for m in records if m.key() == b"acct-1"] == [
        "e-1",
        "e-4",
    ]


def test_publish_clean_file_exits_zero(
    kafka_settings: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(delivery("e-1", "acct-1", 10) + "\n")
    out = io.StringIO()
    assert publish_command(str(path), kafka=kafka_settings, topics=topics, out=out) == 0
    assert out.getvalue() == (
        f"1 lines: 1 published, 0 rejected, 0 failed (topic {topics.touchpoints})\n"
    )
    [record] = read_records(kafka_settings, topics.touchpoints, 1)
    assert record.key() == b"acct-1"
