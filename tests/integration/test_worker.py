"""The stream worker against the real broker: enriched events, dead letters and alerts, exactly."""

from __future__ import annotations

from collections import Counter

import orjson

from schemas import Account, AccountTier, Alert, DeadLetter, EnrichedTouchpoint
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, read_topic, wait_for

ACCOUNTS = [
    Account(
        account_id="acme",
        name="Acme Corp",
        tier=AccountTier.STRATEGIC,
        tier_score=82.5,
        kam_owner="ana",
        kam_team="iberia",
    ),
    Account(account_id="globex", name="Globex", tier=AccountTier.STANDARD),
]


def _event(event_id: str, account: str, event_type: str, payload: dict[str, object]) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": account,
            "event_type": event_type,
            "occurred_at": "2026-01-05T10:00:00Z",
            "source_system": "test",
            "payload": payload,
        }
    )


LATE_DELIVERY = _event(
    "e1",
    "acme",
    "delivery_completed",
    {
        "shipment_id": "s1",
        "promised_at": "2026-01-04T10:00:00Z",
        "delivered_at": "2026-01-05T10:00:00Z",
        "ordered_qty": 10,
        "delivered_qty": 10,
    },
)
HAPPY_CSAT = _event("e2", "acme", "csat_submitted", {"score": 5})
UNHAPPY_STANDARD = _event("e3", "globex", "csat_submitted", {"score": 1})
UNKNOWN_ACCOUNT = _event("e4", "initech", "order_placed", {"order_id": "o1", "amount": 120.0})
NOT_JSON = b"{oops"
UNKNOWN_TYPE = _event("e5", "acme", "parcel_teleported", {})
BAD_SCORE = _event("e6", "acme", "nps_submitted", {"score": 11})


def test_worker_validates_enriches_and_alerts(pipeline: Pipeline) -> None:
    worker = pipeline.worker()
    produce(
        pipeline.kafka,
        pipeline.topics.accounts,
        [(a.account_id.encode(), a.model_dump_json().encode()) for a in ACCOUNTS],
    )
    wait_for(
        lambda: worker.metric("kam_worker_account_updates_total") == 2,
        what="the worker to apply both accounts",
        alive=[worker],
    )

    touchpoints = [
        LATE_DELIVERY,
        HAPPY_CSAT,
        UNHAPPY_STANDARD,
        UNKNOWN_ACCOUNT,
        NOT_JSON,
        UNKNOWN_TYPE,
        BAD_SCORE,
    ]
    produce(pipeline.kafka, pipeline.topics.touchpoints, [(b"acme", raw) for raw in touchpoints])

    enriched = [
        EnrichedTouchpoint.model_validate_json(v)
        for v in read_topic(pipeline.kafka, pipeline.topics.enriched, expected=4)
    ]
    letters = [
        DeadLetter.model_validate_json(v)
        for v in read_topic(pipeline.kafka, pipeline.topics.deadletter, expected=3)
    ]
    alerts = [
        Alert.model_validate_json(v)
        for v in read_topic(pipeline.kafka, pipeline.topics.alerts, expected=1)
    ]

    tiers = {item.event.event_id: item.account.tier for item in enriched}
    assert tiers == {"e1": "strategic", "e2": "strategic", "e3": "standard", "e4": "unknown"}
    by_id = {item.event.event_id: item for item in enriched}
    assert by_id["e1"].account.kam_owner == "ana"
    assert by_id["e1"].account.tier_score == 82.5
    assert by_id["e1"].bad_experience is not None
    assert by_id["e2"].bad_experience is None
    assert by_id["e3"].bad_experience is not None

    assert Counter(letter.failure_type.value for letter in letters) == Counter(
        {"not_json": 1, "unknown_event_type": 1, "schema_violation": 1}
    )
    originals = {letter.original for letter in letters}
    assert originals == {NOT_JSON, UNKNOWN_TYPE, BAD_SCORE}
    violation = next(letter for letter in letters if letter.failure_type == "schema_violation")
    assert violation.field_path == "payload.score"

    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.account_id, alert.contact_point, alert.tier, alert.kam_owner) == (
        "acme",
        "logistics",
        "strategic",
        "ana",
    )
    assert alert.status == "firing"
    assert alert.event_ids == ["e1"]
    assert alert.alert_key == f"acme:logistics:{alert.rule}"
