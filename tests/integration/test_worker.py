"""The stream worker against the real broker: enriched events, dead letters, KPIs and alerts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson

from schemas import Account, AccountTier, Alert, DeadLetter, EnrichedTouchpoint, KpiUpdate
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, read_topic, wait_for

NOW = datetime.now(UTC).replace(microsecond=0)
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


def _at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def _event(event_id: str, account: str, event_type: str, payload: dict[str, object]) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": account,
            "event_type": event_type,
            "occurred_at": _at(1),
            "source_system": "test",
            "payload": payload,
        }
    )


# Delivered 24 h after the promise, in full: late, so OTIF 0 and a 24 h average delay.
LATE_DELIVERY = _event(
    "e1",
    "acme",
    "delivery_completed",
    {
        "shipment_id": "s1",
        "promised_at": _at(25),
        "delivered_at": _at(1),
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
NOT_UTF8 = b"\xff\xfe{}"
NEXT_VERSION = orjson.dumps({**orjson.loads(HAPPY_CSAT), "event_id": "e7", "schema_version": 2})
OVERSIZE = _event("e8", "acme", "quote_requested", {"quote_id": "q" * 70_000})
FROM_THE_FUTURE = orjson.dumps(
    {
        **orjson.loads(HAPPY_CSAT),
        "event_id": "e9",
        "occurred_at": (NOW + timedelta(hours=2)).isoformat(),
    }
)
INVALID = {
    "not_json": NOT_JSON,
    "unknown_event_type": UNKNOWN_TYPE,
    "schema_violation": BAD_SCORE,
    "not_utf8": NOT_UTF8,
    "unsupported_schema_version": NEXT_VERSION,
    "oversize": OVERSIZE,
    "future_event_time": FROM_THE_FUTURE,
}
"""One message per dead-letter type, by the failure type it must get."""
TOUCHPOINTS = [
    (b"acme", LATE_DELIVERY),
    (b"acme", HAPPY_CSAT),
    (b"globex", UNHAPPY_STANDARD),
    (b"initech", UNKNOWN_ACCOUNT),
    *[(b"acme", raw) for raw in INVALID.values()],
]


def test_worker_validates_enriches_rolls_kpis_and_alerts(pipeline: Pipeline) -> None:
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
    produce(pipeline.kafka, pipeline.topics.touchpoints, TOUCHPOINTS)

    kafka, topics = pipeline.kafka, pipeline.topics
    enriched = [
        EnrichedTouchpoint.model_validate_json(v)
        for v in read_topic(kafka, topics.enriched, expected=4)
    ]
    letters = [
        DeadLetter.model_validate_json(v)
        for v in read_topic(kafka, topics.deadletter, expected=len(INVALID))
    ]
    alerts = [Alert.model_validate_json(v) for v in read_topic(kafka, topics.alerts, expected=3)]
    kpis = [KpiUpdate.model_validate_json(v) for v in read_topic(kafka, topics.kpis, expected=7)]
    metric_totals = {
        name: worker.metric(f"kam_worker_{name}_total")
        for name in ("events_consumed", "events_valid", "events_invalid", "bad_experiences")
    }
    assert metric_totals == {
        "events_consumed": len(TOUCHPOINTS),
        "events_valid": 4.0,
        "events_invalid": float(len(INVALID)),
        "bad_experiences": 2.0,
    }
    assert worker.metric("kam_worker_event_loop_lag_seconds_count") > 0  # the lag probe runs

    by_id = {item.event.event_id: item for item in enriched}
    assert {i: item.account.tier for i, item in by_id.items()} == {
        "e1": "strategic",
        "e2": "strategic",
        "e3": "standard",
        "e4": "unknown",
    }
    assert (by_id["e1"].account.kam_owner, by_id["e1"].account.tier_score) == ("ana", 82.5)
    assert by_id["e1"].bad_experience is not None
    assert by_id["e2"].bad_experience is None
    assert by_id["e3"].bad_experience is not None

    assert {letter.failure_type.value: letter.original for letter in letters} == INVALID
    assert len(letters) == len(INVALID)
    violation = next(letter for letter in letters if letter.failure_type == "schema_violation")
    assert violation.field_path == "payload.score"

    # One late delivery for a strategic account: the event rule, plus the 7-day OTIF and
    # logistics experience-score thresholds it pulls down (config/alert_rules.toml).
    assert sorted(a.alert_key for a in alerts) == [
        "acme:logistics:experience_score_below_7d",
        "acme:logistics:late_delivery",
        "acme:logistics:otif_below_7d",
    ]
    assert all((a.status, a.kam_owner, a.tier) == ("firing", "ana", "strategic") for a in alerts)
    late = next(a for a in alerts if a.rule == "late_delivery")
    assert late.event_ids == ["e1"]

    updates = {(k.account_id, str(k.contact_point)): k for k in kpis}
    assert sorted(updates) == [
        ("acme", "logistics"),
        ("acme", "overall"),
        ("acme", "support"),
        ("globex", "overall"),
        ("globex", "support"),
        ("initech", "overall"),
        ("initech", "sales"),
    ]
    # Logistics is poor (one late delivery): the account is poor by the worst-of rule.
    assert updates["acme", "overall"].windows["7d"]["worst_of_poor"] == 1.0
    logistics = updates["acme", "logistics"].windows["7d"]
    assert (logistics["otif"], logistics["delivery_delay_hours_avg"]) == (0.0, 24.0)
    assert updates["acme", "support"].windows["30d"]["csat_avg"] == 5.0
    assert updates["globex", "support"].windows["30d"]["csat_satisfied_rate"] == 0.0


def test_a_message_near_the_broker_limit_is_dead_lettered_and_stops_nothing(
    pipeline: Pipeline,
) -> None:
    """A 900 KB input is oversize; its dead letter (cut to 256 KiB, with size and hash) fits the
    topic, so the events behind it in every partition are processed."""
    huge = b'{"event_id": "' + b"x" * 900_000 + b'"}'
    worker = pipeline.worker()
    events = [_event(f"after-{i}", "acme", "csat_submitted", {"score": 5}) for i in range(8)]
    produce(pipeline.kafka, pipeline.topics.touchpoints, [(b"acme", huge)])
    produce(pipeline.kafka, pipeline.topics.touchpoints, [(b"acme", e) for e in events])
    wait_for(
        lambda: pipeline.size(pipeline.topics.enriched) >= len(events),
        what="the events behind the huge one",
        alive=[worker],
    )
    [raw] = read_topic(pipeline.kafka, pipeline.topics.deadletter, expected=1, timeout=30)
    letter = DeadLetter.model_validate_json(raw)
    assert (letter.failure_type, letter.original_size, letter.original_truncated) == (
        "oversize",
        len(huge),
        True,
    )
    assert letter.original == huge[: 256 * 1024]
    assert letter.original_sha256 == hashlib.sha256(huge).hexdigest()
    assert len(raw) < 1_000_000
    enriched = [
        EnrichedTouchpoint.model_validate_json(value).event.event_id
        for value in pipeline.read_all(pipeline.topics.enriched)
    ]
    assert enriched == [f"after-{i}" for i in range(8)]
    assert worker.running()
