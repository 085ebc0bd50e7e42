"""Sample documents exactly as the pipeline publishes them (built from the schema models)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import (
    TOUCHPOINT_ADAPTER,
    AccountContext,
    AccountTier,
    Alert,
    DeadLetter,
    EnrichedTouchpoint,
    FailureType,
)
from sinks.rows import SourceMessage

T0 = datetime(2026, 3, 2, 9, 30, 0, 125000, tzinfo=UTC)
KAFKA_TIME = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)


def enriched_json(
    event_id: str = "ev-1", *, account_id: str = "acme", tier: str = "strategic", bad: bool = True
) -> bytes:
    event = TOUCHPOINT_ADAPTER.validate_python(
        {
            "event_type": "delivery_completed",
            "event_id": event_id,
            "account_id": account_id,
            "occurred_at": "2026-03-02T09:30:00.125Z",
            "source_system": "wms",
            "trace_id": "tr-9",
            "payload": {
                "shipment_id": "sh-1",
                "promised_at": "2026-03-01T18:00:00Z",
                "delivered_at": "2026-03-02T09:30:00Z",
                "ordered_qty": 10,
                "delivered_qty": 8,
            },
        }
    )
    enriched = EnrichedTouchpoint(
        event=event,
        account=AccountContext(
            tier=AccountTier.KEY, name="Acme", kam_owner="ana", kam_team="iberia", tier_score=71.5
        ),
        bad_experience="late and short delivery" if bad else None,
        processed_at=datetime(2026, 3, 2, 9, 30, 5, tzinfo=UTC),
    )
    # the tier string is patched in so that tests can also publish tiers the schema lacks
    return enriched.model_dump_json().replace('"tier":"key"', f'"tier":"{tier}"').encode()


def dead_letter_json() -> bytes:
    return (
        DeadLetter(
            failure_type=FailureType.NOT_JSON,
            detail="expected value at line 1",
            field_path=None,
            source_topic="kam.touchpoints",
            source_partition=2,
            source_offset=41,
            original=b"{oops",
            received_at=T0,
        )
        .model_dump_json()
        .encode()
    )


def alert_json(status: str = "firing", *, updated_minute: int = 0) -> bytes:
    return (
        Alert.model_validate(
            {
                "alert_key": "acme:logistics:otif_low",
                "account_id": "acme",
                "account_name": "Acme",
                "tier": "strategic",
                "kam_owner": "ana",
                "kam_team": "iberia",
                "contact_point": "logistics",
                "rule": "otif_low",
                "severity": "critical",
                "status": status,
                "summary": "OTIF 50% over 7 days",
                "evidence": {"otif": 0.5, "deliveries": 4},
                "event_ids": ["ev-1", "ev-2"],
                "started_at": "2026-03-02T09:00:00Z",
                "updated_at": f"2026-03-02T10:{updated_minute:02d}:00Z",
            }
        )
        .model_dump_json()
        .encode()
    )


def message(
    value: bytes | None, offset: int = 5, topic: str = "t", partition: int = 1
) -> SourceMessage:
    return SourceMessage(
        topic=topic, partition=partition, offset=offset, value=value, timestamp=KAFKA_TIME
    )
