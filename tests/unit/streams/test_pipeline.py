"""The worker's pure core: validation, enrichment, replay safety, alerts and KPI throttling.

Hand-worked numbers (default KPI scoring, config/alert_rules.toml): one delivery 24 h late and
in full gives OTIF 0 (score 0, weight 0.40), delay 24 h (score 50, weight 0.15) and damage,
failed-delivery and return rates 0 (score 100, weights 0.15 each): experience score
(0 + 7.5 + 45) / 1.0 = 52.5, below the strategic limit of 60 and above its critical 40.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from schemas import (
    Account,
    AccountContext,
    AccountTier,
    Alert,
    AlertStatus,
    ContactPoint,
    FailureType,
    KpiUpdate,
)
from schemas.origins import Origin
from streams import pipeline
from streams.alerting import load_alert_rules
from streams.enrichment import AccountDirectory, add_version
from streams.kpis import KpiConfig
from streams.pipeline import BatchOutcome, TouchpointProcessor
from streams.replay import apply_state
from streams.state import (
    alerts_key,
    kpi_key,
    kpi_mark_key,
    offset_key,
    outbox_key,
    parse_key,
    stream_key,
    watermark,
)
from streams.validation import SourceRecord, ValidationPolicy

ROOT = Path(__file__).resolve().parents[3]
RULES = load_alert_rules(ROOT / "config" / "alert_rules.toml")
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
TOPIC = "touchpoints"
P = 2
ACME = Account(
    account_id="acme",
    name="Acme Corp",
    tier=AccountTier.STRATEGIC,
    tier_score=82.5,
    kam_owner="ana",
    kam_team="iberia",
    updated_at=NOW - timedelta(days=60),
)
GLOBEX = Account(account_id="globex", name="Globex", updated_at=NOW - timedelta(days=60))
ACME_CONTEXT = AccountContext(
    tier=AccountTier.STRATEGIC,
    name="Acme Corp",
    kam_owner="ana",
    kam_team="iberia",
    tier_score=82.5,
)
LATE = "acme:logistics:late_delivery"
OTIF = "acme:logistics:otif_below_7d"
SCORE = "acme:logistics:experience_score_below_7d"


# --- builders ------------------------------------------------------------------------------
def event(
    event_id: str, account: str, event_type: str, payload: dict[str, Any], *, at: datetime
) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": account,
            "event_type": event_type,
            "occurred_at": at.isoformat(),
            "source_system": "test",
            "payload": payload,
        }
    )


def delivery(event_id: str, account: str = "acme", *, at: datetime, hours_late: float = 0) -> bytes:
    """A delivery in full at ``at``, ``hours_late`` after its promise (0: on time)."""
    promised = at - timedelta(hours=hours_late)
    payload = {
        "shipment_id": f"s-{event_id}",
        "promised_at": promised.isoformat(),
        "delivered_at": at.isoformat(),
        "ordered_qty": 10,
        "delivered_qty": 10,
    }
    return event(event_id, account, "delivery_completed", payload, at=at)


def csat(event_id: str, account: str, score: int, *, at: datetime) -> bytes:
    return event(event_id, account, "csat_submitted", {"score": score}, at=at)


def records(values: Sequence[bytes | None], *, first_offset: int = 0) -> list[SourceRecord]:
    return [
        SourceRecord(value=value, topic=TOPIC, partition=P, offset=first_offset + i)
        for i, value in enumerate(values)
    ]


def directory(*accounts: Account) -> AccountDirectory:
    table: dict[str, bytes] = {}
    for account in accounts:
        table[account.account_id] = add_version(table.get(account.account_id), account)
    return AccountDirectory(records=table)


def processor(
    state: dict[str, bytes],
    *,
    accounts: AccountDirectory | None = None,
    kpi_interval: float = 0.0,
    idle_advance: float = 0.0,
    kpi_flush_keys: int = 0,
    kpi_judge_step: float = 0.0,
    kpi_state_cache: int = 2,
) -> TouchpointProcessor:
    """A processor as the worker builds it; it keeps a tiny cache of decoded states so every
    test also runs through its hits, misses and evictions."""
    return TouchpointProcessor(
        accounts=accounts or directory(ACME, GLOBEX),
        state=state,
        policy=ValidationPolicy(),
        kpis=KpiConfig(),
        alert_rules=RULES,
        kpi_interval=kpi_interval,
        idle_advance=idle_advance,
        kpi_flush_keys=kpi_flush_keys,
        kpi_judge_step=kpi_judge_step,
        kpi_state_cache=kpi_state_cache,
    )


IDLE_ADVANCE = 300.0
"""The worker's default: a quiet partition's stream time follows the clock 5 min behind it,
so the alert lifecycle (quiet periods, repeats, paced updates) moves on without new events."""


apply = apply_state
"""Write the outcome's state like ``streams.app._write_state`` (``None`` deletes)."""


def summary(alerts: Sequence[Alert]) -> list[tuple[str, str, str]]:
    """(alert key, status, transition) of each alert."""
    return [(a.alert_key, a.status.value, a.evidence["transition"]) for a in alerts]


def alert_states(state: dict[str, bytes], account_id: str = "acme") -> dict[str, Any]:
    return orjson.loads(state[alerts_key(P, account_id)])  # type: ignore[no-any-return]


def firing(state: dict[str, bytes]) -> list[str]:
    """Keys of the stored alert states that fire (KPI states also remember quiet values)."""
    return sorted(key for key, data in alert_states(state).items() if data["f"])


# --- validation and enrichment -------------------------------------------------------------
def test_valid_events_are_enriched_and_invalid_ones_dead_lettered() -> None:
    hour_ago = NOW - timedelta(hours=1)
    outcome = processor({}).process(
        records(
            [
                delivery("e1", at=hour_ago),
                b"{oops",
                event("e2", "initech", "order_placed", {"order_id": "o1", "amount": 1.0}, at=NOW),
                event("e3", "acme", "parcel_teleported", {}, at=NOW),
                csat("e4", "acme", 11, at=NOW),
                csat("e5", "acme", 5, at=NOW + timedelta(minutes=5)),  # at the skew limit
                csat("e6", "acme", 5, at=NOW + timedelta(minutes=5, seconds=1)),
                None,
            ]
        ),
        now=NOW,
    )
    assert [(i.event.event_id, i.account, i.processed_at) for i in outcome.enriched] == [
        ("e1", ACME_CONTEXT, NOW),
        ("e2", AccountContext(tier=AccountTier.UNKNOWN), NOW),
        ("e5", ACME_CONTEXT, NOW),
    ]
    assert [
        (d.failure_type, d.field_path, d.source_topic, d.source_partition, d.source_offset)
        for d in outcome.dead_letters
    ] == [
        (FailureType.NOT_JSON, None, TOPIC, P, 1),
        (FailureType.UNKNOWN_EVENT_TYPE, "event_type", TOPIC, P, 3),
        (FailureType.SCHEMA_VIOLATION, "payload.score", TOPIC, P, 4),
        (FailureType.FUTURE_EVENT_TIME, "occurred_at", TOPIC, P, 6),
        (FailureType.NOT_JSON, None, TOPIC, P, 7),
    ]
    assert outcome.dead_letters[0].original == b"{oops"
    assert (outcome.replayed, outcome.too_late) == (0, 0)
    assert outcome.state_writes[P][offset_key(P)] == b"7"  # dead letters are covered too


def test_bad_experiences_are_tagged_for_every_tier() -> None:
    at = NOW - timedelta(hours=1)
    outcome = processor({}).process(
        records(
            [
                delivery("e1", at=at, hours_late=24),
                delivery("e2", at=at),
                csat("e3", "globex", 1, at=at),
                csat("e4", "initech", 2, at=at),
                csat("e5", "initech", 3, at=at),
            ]
        ),
        now=NOW,
    )
    assert [(i.account.tier, i.bad_experience) for i in outcome.enriched] == [
        (AccountTier.STRATEGIC, "Shipment s-e1 delivered 24 h late"),
        (AccountTier.STRATEGIC, None),
        (AccountTier.STANDARD, "CSAT score 1 of 5"),
        (AccountTier.UNKNOWN, "CSAT score 2 of 5"),
        (AccountTier.UNKNOWN, None),
    ]
    # Only the strategic account alerts.
    assert sorted(a.alert_key for a in outcome.alerts) == [SCORE, LATE, OTIF]


def test_an_event_gets_the_tier_in_force_when_it_happened() -> None:
    upgraded = ACME.model_copy(update={"updated_at": NOW - timedelta(hours=2)})
    downgraded_before = ACME.model_copy(
        update={"tier": AccountTier.STANDARD, "updated_at": NOW - timedelta(days=30)}
    )
    accounts = directory(downgraded_before, upgraded)
    outcome = processor({}, accounts=accounts).process(
        records(
            [
                delivery("old", at=NOW - timedelta(hours=3), hours_late=5),
                csat("new", "acme", 5, at=NOW - timedelta(hours=1)),
            ]
        ),
        now=NOW,
    )
    assert [(i.event.event_id, i.account.tier) for i in outcome.enriched] == [
        ("old", AccountTier.STANDARD),
        ("new", AccountTier.STRATEGIC),
    ]
    # The late delivery happened while the account was standard: tagged, no event alert. The
    # KPI rules judge the account as it is at the stream time (strategic since 2 h ago).
    assert outcome.enriched[0].bad_experience == "Shipment s-old delivered 5 h late"
    assert [a.evidence.get("kind") for a in outcome.alerts if a.rule == "late_delivery"] == []
    assert {a.tier for a in outcome.alerts} <= {AccountTier.STRATEGIC}


def test_kpi_alerts_and_update_tier_do_not_depend_on_the_order_within_a_batch() -> None:
    upgraded = ACME.model_copy(update={"updated_at": NOW - timedelta(hours=2)})
    standard_before = ACME.model_copy(
        update={"tier": AccountTier.STANDARD, "updated_at": NOW - timedelta(days=30)}
    )
    new = delivery("new", at=NOW - timedelta(hours=1), hours_late=1)
    old = delivery("old", at=NOW - timedelta(hours=3))  # arrives late, from the standard days

    def run(values: list[bytes]) -> tuple[list[tuple[str, str, str]], list[AccountTier]]:
        accounts = directory(standard_before, upgraded)
        outcome = processor({}, accounts=accounts).process(records(values), now=NOW)
        return summary(outcome.alerts), [k.tier for k in per_contact_point(outcome)]

    # OTIF 1/2 over 7d for an account strategic as of the latest event: KPI alerts fire.
    expected = (
        [(SCORE, "firing", "new"), (LATE, "firing", "new"), (OTIF, "firing", "new")],
        [AccountTier.STRATEGIC],
    )
    assert run([old, new]) == expected
    assert run([new, old]) == expected


def test_events_older_than_the_longest_window_are_enriched_but_not_counted() -> None:
    state: dict[str, bytes] = {}
    outcome = processor(state).process(
        records(
            [
                delivery("e1", at=NOW - timedelta(hours=1)),
                delivery("e2", at=NOW - timedelta(days=31), hours_late=3),
            ]
        ),
        now=NOW,
    )
    assert [i.event.event_id for i in outcome.enriched] == ["e1", "e2"]
    assert outcome.too_late == 1
    (update,) = per_contact_point(outcome)
    assert (update.windows["30d"]["otif"], update.as_of) == (1.0, NOW - timedelta(hours=1))
    # The old late delivery is too old to alert (max_event_age_hours = 72).
    assert outcome.alerts == []


def per_contact_point(outcome: BatchOutcome) -> list[KpiUpdate]:
    """The KPI updates of contact points (leaving out the accounts' overall health)."""
    return [u for u in outcome.kpi_updates if u.contact_point != "overall"]


def test_account_health_goes_out_with_the_contact_point_updates() -> None:
    state: dict[str, bytes] = {}
    outcome = processor(state).process(
        records(
            [
                delivery("e1", at=NOW - timedelta(hours=1), hours_late=24),
                csat("e2", "acme", 5, at=NOW - timedelta(hours=1)),
            ]
        ),
        now=NOW,
    )
    (overall,) = [u for u in outcome.kpi_updates if u.contact_point == "overall"]
    scores = {
        u.contact_point: u.windows["7d"]["experience_score"] for u in per_contact_point(outcome)
    }
    # Logistics 52.5 (one late delivery) is poor (< 60) even though support is perfect.
    assert scores == {ContactPoint.LOGISTICS: 52.5, ContactPoint.SUPPORT: 100.0}
    assert overall.windows["7d"]["worst_of_poor"] == 1.0
    assert overall.windows["7d"]["experience_score"] is not None
    assert overall.tier == AccountTier.STRATEGIC


# --- watermark and replay ------------------------------------------------------------------
def replay_events() -> list[bytes]:
    """Offsets 0..14, all acme logistics; offset 7 is two hours late."""
    start = NOW - timedelta(hours=2)
    return [
        delivery(f"e{i}", at=start + timedelta(minutes=i), hours_late=2 if i == 7 else 0)
        for i in range(15)
    ]


@pytest.mark.parametrize("restart", [False, True], ids=["same-worker", "after-crash"])
def test_replayed_events_are_re_emitted_but_counted_once(restart: bool) -> None:
    values = replay_events()
    state: dict[str, bytes] = {}
    worker = processor(state, idle_advance=IDLE_ADVANCE)
    first = worker.process(records(values[:10]), now=NOW)
    apply(state, first)
    assert watermark(state, P) == 9
    # OTIF 9/10 = 0.9: below 0.95, above the critical 0.85.
    assert summary(first.alerts) == [
        (LATE, "firing", "new"),
        (OTIF, "firing", "new"),
    ]
    assert first.alerts[1].evidence["value"] == 0.9

    if restart:
        worker = processor(state, idle_advance=IDLE_ADVANCE)
    later = NOW + timedelta(hours=25)
    second = worker.process(records(values[5:], first_offset=5), now=later)
    apply(state, second)

    assert second.replayed == 5
    assert [i.event.event_id for i in second.enriched] == [f"e{i}" for i in range(5, 15)]
    # 25 h on, the late delivery's alert resolves after its quiet period; had the replayed late
    # delivery (offset 7, 26 h 53 min old) reached the alert book, it would fire a 'new' one.
    # OTIF moved 0.9 -> 14/15 (more than its 0.02 update delta): one paced update.
    assert summary(second.alerts) == [
        (LATE, "resolved", "resolved"),
        (OTIF, "firing", "updated"),
    ]
    assert second.alerts[1].evidence["value"] == 14 / 15
    assert state[offset_key(P)] == b"14"
    assert watermark(state, P) == 14
    assert LATE not in alert_states(state)

    once: dict[str, bytes] = {}
    reference = processor(once, idle_advance=IDLE_ADVANCE).process(records(values), now=later)
    apply(once, reference)
    key = kpi_key(P, "acme", ContactPoint.LOGISTICS)
    assert state[key] == once[key]
    (update,) = per_contact_point(second)
    (expected,) = per_contact_point(reference)
    assert (update.windows, update.as_of) == (expected.windows, expected.as_of)
    assert update.windows["7d"]["otif"] == 14 / 15
    assert update.windows["7d"]["delivery_delay_hours_avg"] == 2 / 15
    # The partition is quiet: its stream time follows the clock, IDLE_ADVANCE behind.
    assert update.as_of == later - timedelta(seconds=IDLE_ADVANCE)


def test_a_record_that_trips_a_bug_is_dead_lettered_and_the_rest_processed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = pipeline.bad_experience

    def failing(event: Any, rules: Any) -> Any:
        if event.event_id == "poison":
            raise ZeroDivisionError("division by zero")
        return real(event, rules)

    monkeypatch.setattr(pipeline, "bad_experience", failing)
    batch = [
        csat("e1", "acme", 5, at=NOW - timedelta(hours=1)),
        csat("poison", "acme", 5, at=NOW - timedelta(hours=1)),
        csat("e3", "acme", 4, at=NOW - timedelta(hours=1)),
    ]
    outcome = processor({}).process(records(batch), now=NOW)
    assert [i.event.event_id for i in outcome.enriched] == ["e1", "e3"]
    (letter,) = outcome.dead_letters
    assert (letter.failure_type, letter.source_offset, letter.detail) == (
        FailureType.PROCESSING_ERROR,
        1,
        "ZeroDivisionError: division by zero",
    )
    assert letter.original == batch[1]
    assert outcome.state_writes[P][offset_key(P)] == b"2"


def test_events_from_too_far_ahead_give_no_kpi_update() -> None:
    too_early = delivery("e1", at=NOW + timedelta(minutes=4))  # valid: within the clock skew
    worker = TouchpointProcessor(
        accounts=directory(ACME),
        state={},
        policy=ValidationPolicy(),
        kpis=KpiConfig(max_future_skew=timedelta(minutes=1)),
        alert_rules=RULES,
        kpi_interval=0.0,
    )
    outcome = worker.process(records([too_early]), now=NOW)
    assert [i.event.event_id for i in outcome.enriched] == ["e1"]
    assert outcome.kpi_updates == []


def test_an_event_published_twice_is_counted_once() -> None:
    late = delivery("e1", at=NOW - timedelta(hours=2), hours_late=2)
    on_time = delivery("e2", at=NOW - timedelta(hours=1))
    state: dict[str, bytes] = {}
    first = processor(state).process(records([late, on_time]), now=NOW)
    apply(state, first)
    again = processor(state).process(records([late], first_offset=2), now=NOW)
    apply(state, again)
    assert (again.duplicates, again.replayed, len(again.enriched)) == (1, 0, 1)
    third = delivery("e3", at=NOW - timedelta(minutes=30))
    (update,) = per_contact_point(
        processor(state).process(records([third], first_offset=3), now=NOW)
    )
    assert update.windows["7d"]["otif"] == 2 / 3  # 1 late of 3, not 2 of 4


def test_a_fully_replayed_batch_changes_no_kpi_or_alert_state() -> None:
    values = replay_events()[:5]
    state: dict[str, bytes] = {}
    first = processor(state).process(records(values), now=NOW)
    apply(state, first)
    before = dict(state)
    outcome = processor(state).process(records(values), now=NOW)
    assert (outcome.replayed, len(outcome.enriched), outcome.alerts) == (5, 5, [])
    # The KPI update a crash may have kept from being sent goes out again, unchanged.
    assert [u.windows for u in outcome.kpi_updates] == [u.windows for u in first.kpi_updates]
    assert dict(outcome.state_writes) == {P: {offset_key(P): b"4"}}
    apply(state, outcome)
    assert state == before


# --- alerts --------------------------------------------------------------------------------
def late_delivery_batch(state: dict[str, bytes], *, idle_advance: float = 0.0) -> BatchOutcome:
    outcome = processor(state, idle_advance=idle_advance).process(
        records([delivery("e1", at=NOW - timedelta(hours=1), hours_late=24)]), now=NOW
    )
    apply(state, outcome)
    return outcome


def test_a_late_delivery_for_a_strategic_account_fires_event_and_kpi_alerts() -> None:
    state: dict[str, bytes] = {}
    outcome = late_delivery_batch(state)
    assert summary(outcome.alerts) == [
        (SCORE, "firing", "new"),
        (LATE, "firing", "new"),
        (OTIF, "firing", "new"),
    ]
    by_key = {a.alert_key: a for a in outcome.alerts}
    assert {k: a.severity.value for k, a in by_key.items()} == {
        SCORE: "warning",  # 52.5: below 60, above 40
        LATE: "critical",  # 24 h late
        OTIF: "critical",  # 0 < 0.85
    }
    assert (by_key[SCORE].evidence["value"], by_key[OTIF].evidence["value"]) == (52.5, 0.0)
    assert by_key[LATE].event_ids == ["e1"]
    assert all(
        (a.account_name, a.kam_owner, a.kam_team, a.tier)
        == ("Acme Corp", "ana", "iberia", AccountTier.STRATEGIC)
        for a in outcome.alerts
    )
    assert all(a.started_at == NOW - timedelta(hours=1) for a in outcome.alerts)
    assert all(a.updated_at == NOW for a in outcome.alerts)
    assert set(outcome.state_writes) == {P}
    assert set(outcome.state_writes[P]) == {
        kpi_key(P, "acme", ContactPoint.LOGISTICS),
        alerts_key(P, "acme"),
        offset_key(P),
        outbox_key(P),
        stream_key(P),
    }
    # Every logistics KPI rule with a reading keeps a state (for the trend), firing or not.
    assert sorted(alert_states(state)) == [
        SCORE,
        "acme:logistics:experience_score_drop_24h_vs_30d",
        "acme:logistics:failed_delivery_rate_above_7d",
        LATE,
        OTIF,
    ]
    assert firing(state) == [SCORE, LATE, OTIF]


def test_a_standard_account_never_alerts() -> None:
    state: dict[str, bytes] = {}
    worker = processor(state)
    outcome = worker.process(
        records(
            [
                delivery("e1", "globex", at=NOW - timedelta(hours=1), hours_late=24),
                csat("e2", "globex", 1, at=NOW - timedelta(hours=1)),
            ]
        ),
        now=NOW,
    )
    apply(state, outcome)
    assert [i.bad_experience is not None for i in outcome.enriched] == [True, True]
    assert outcome.alerts == []
    assert worker.tick(now=NOW + timedelta(days=2)).alerts == []
    assert alerts_key(P, "globex") not in state
    assert sorted(state) == [
        kpi_key(P, "globex", ContactPoint.LOGISTICS),
        kpi_key(P, "globex", ContactPoint.SUPPORT),
        offset_key(P),
        stream_key(P),
    ]


@pytest.mark.parametrize("load", [True, False], ids=["loaded", "restored-on-first-event"])
def test_a_new_worker_continues_the_alert_lifecycle(load: bool) -> None:
    state: dict[str, bytes] = {}
    late_delivery_batch(state, idle_advance=IDLE_ADVANCE)

    worker = processor(state, idle_advance=IDLE_ADVANCE)
    if load:
        assert worker.load([P + 1]) == 0
        assert worker.load([P]) == 1
    second_late = delivery("e2", at=NOW - timedelta(minutes=50), hours_late=24)
    outcome = worker.process(
        records([second_late], first_offset=1), now=NOW + timedelta(minutes=10)
    )
    apply(state, outcome)
    # Same key, same severity, OTIF and score unchanged: no 'new', and the update is paced.
    assert outcome.alerts == []
    assert (alert_states(state)[LATE]["n"], alert_states(state)[LATE]["ids"]) == (2, ["e1", "e2"])

    outcome = worker.tick(now=NOW + timedelta(minutes=29))
    assert outcome.alerts == []
    outcome = worker.tick(now=NOW + timedelta(minutes=40))
    apply(state, outcome)
    assert summary(outcome.alerts) == [(LATE, "firing", "updated")]
    (update,) = outcome.alerts
    assert (update.evidence["bad_events"], update.event_ids) == (2, ["e1", "e2"])
    assert update.started_at == NOW - timedelta(hours=1)
    assert worker.tick(now=NOW + timedelta(minutes=41)).alerts == []


def test_loaded_alert_states_repeat_and_resolve_on_ticks_until_forgotten() -> None:
    state: dict[str, bytes] = {}
    late_delivery_batch(state, idle_advance=IDLE_ADVANCE)

    forgetful = processor(state, idle_advance=IDLE_ADVANCE)
    assert forgetful.load([P]) == 1
    forgetful.forget([P])
    outcome = forgetful.tick(now=NOW + timedelta(hours=25))
    assert (outcome.alerts, dict(outcome.state_writes)) == ([], {})

    owner = processor(state, idle_advance=IDLE_ADVANCE)
    assert owner.load([P]) == 1
    outcome = owner.tick(now=NOW + timedelta(hours=25))
    # 25 h after the notifications: KPI alerts repeat (24 h); the event alert's quiet period
    # (24 h without a new bad event) resolves it.
    assert summary(outcome.alerts) == [
        (SCORE, "firing", "repeat"),
        (LATE, "resolved", "resolved"),
        (OTIF, "firing", "repeat"),
    ]
    assert outcome.alerts[1].evidence["reason"] == "quiet_period"
    apply(state, outcome)
    assert firing(state) == [SCORE, OTIF]
    assert LATE not in alert_states(state)


def test_a_downgraded_account_resolves_its_kpi_alerts() -> None:
    state: dict[str, bytes] = {}
    late_delivery_batch(state)
    downgraded = ACME.model_copy(update={"tier": AccountTier.STANDARD, "updated_at": NOW})
    worker = processor(state, accounts=directory(ACME, GLOBEX, downgraded))
    outcome = worker.process(
        records([delivery("e2", at=NOW + timedelta(minutes=30))], first_offset=1),
        now=NOW + timedelta(hours=1),
    )
    assert outcome.enriched[0].account.tier == AccountTier.STANDARD
    assert [(a.alert_key, a.status, a.evidence.get("reason")) for a in outcome.alerts] == [
        (SCORE, AlertStatus.RESOLVED, "rule_not_applicable"),
        (OTIF, AlertStatus.RESOLVED, "rule_not_applicable"),
    ]


# --- KPI throttling ------------------------------------------------------------------------
def test_kpi_updates_are_throttled_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    state: dict[str, bytes] = {}
    worker = processor(state, kpi_interval=10.0)
    hour_ago = NOW - timedelta(hours=1)

    first = worker.process(
        records(
            [
                delivery("e1", at=hour_ago),
                csat("e2", "acme", 5, at=hour_ago),
                csat("e3", "globex", 1, at=hour_ago),
                delivery("e4", at=hour_ago - timedelta(minutes=1)),
            ]
        ),
        now=NOW,
    )
    apply(state, first)
    assert [(k.account_id, k.contact_point, k.tier) for k in per_contact_point(first)] == [
        ("acme", ContactPoint.LOGISTICS, AccountTier.STRATEGIC),
        ("acme", ContactPoint.SUPPORT, AccountTier.STRATEGIC),
        ("globex", ContactPoint.SUPPORT, AccountTier.STANDARD),
    ]
    assert first.kpi_updates[0].windows["7d"]["otif"] == 1.0

    clock[0] = 105.0
    later = NOW + timedelta(minutes=5)
    second = worker.process(
        records([delivery("e5", at=later, hours_late=24)], first_offset=4), now=later
    )
    apply(state, second)
    assert second.kpi_updates == []
    clock[0] = 109.999
    assert worker.tick(now=later).kpi_updates == []

    clock[0] = 110.0
    tick_at = NOW + timedelta(minutes=6)
    updates = per_contact_point(worker.tick(now=tick_at))
    # The stream time moved past the hour of the first events: the support keys' 1 h windows
    # emptied, so they are sent again with no new event.
    assert [(u.account_id, u.contact_point) for u in updates] == [
        ("acme", ContactPoint.LOGISTICS),
        ("acme", ContactPoint.SUPPORT),
        ("globex", ContactPoint.SUPPORT),
    ]
    assert all(u.windows["1h"]["csat_avg"] is None for u in updates[1:])
    update = updates[0]
    assert (update.account_id, update.contact_point, update.tier) == (
        "acme",
        ContactPoint.LOGISTICS,
        AccountTier.STRATEGIC,
    )
    assert (update.as_of, update.computed_at) == (later, tick_at)
    # Three deliveries, one 24 h late: OTIF 2/3 (below the 0.75 anchor: score 0), delay
    # 24/3 = 8 h (score 100 - 8/24 * 50 = 83.33): (0.40 * 0 + 0.15 * 83.33 + 0.45 * 100) = 57.5.
    window = update.windows["7d"]
    assert (window["otif"], window["delivery_delay_hours_avg"]) == (2 / 3, 8.0)
    assert window["experience_score"] == pytest.approx(57.5)
    clock[0] = 500.0
    assert worker.tick(now=tick_at).kpi_updates == []


def test_forgotten_partitions_drop_their_pending_kpi_updates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    state: dict[str, bytes] = {}
    worker = processor(state, kpi_interval=10.0)
    apply(state, worker.process(records([csat("e1", "acme", 5, at=NOW)]), now=NOW))
    apply(state, worker.process(records([csat("e2", "acme", 4, at=NOW)], first_offset=1), now=NOW))
    worker.forget([P])
    clock[0] = 60.0
    assert worker.tick(now=NOW).kpi_updates == []


def test_alerts_are_numbered_per_partition_and_kept_in_the_outbox_until_the_next_batch() -> None:
    state: dict[str, bytes] = {}
    outcome = late_delivery_batch(state)
    origins = [origin for _, origin, _ in outcome.alert_records]
    assert origins == [Origin(f"alerts/{P}", (seq, 0)) for seq in (1, 2, 3)]
    assert [orjson.loads(value)["alert_key"] for _, _, value in outcome.alert_records] == [
        a.alert_key for a in outcome.alerts
    ]
    # A new owner of the partition (same state, new processor) sends exactly these again.
    assert processor(state).outbox([P]) == outcome.alert_records
    assert processor(state).outbox([P + 1]) == []
    # The next tick with nothing to say empties the outbox but keeps the sequence.
    later = processor(state)
    later.load([P])
    later.outbox([P])
    tick = later.tick(now=NOW + timedelta(seconds=1))
    assert tick.alerts == []
    apply(state, tick)
    quiet = later.tick(now=NOW + timedelta(seconds=2))
    apply(state, quiet)
    assert processor(state).outbox([P]) == []
    following = processor(state)
    following.load([P])
    again = following.process(
        records([delivery("e2", at=NOW + timedelta(hours=25), hours_late=30)], first_offset=10),
        now=NOW + timedelta(hours=25),
    )
    assert [origin.version for _, origin, _ in again.alert_records][:1] == [(4, 0)]


def test_a_new_owner_sends_again_the_kpi_updates_not_known_to_have_reached_the_broker() -> None:
    state: dict[str, bytes] = {}
    first = processor(state)
    outcome = first.process(records([delivery("e1", at=NOW - timedelta(hours=1))]), now=NOW)
    apply(state, outcome)
    assert [u.contact_point for u in outcome.kpi_updates] == [ContactPoint.LOGISTICS, "overall"]
    # The worker dies before the updates reach the broker: the next owner sends them again.
    crashed = processor(state)
    crashed.load([P])
    resent = crashed.tick(now=NOW)
    assert [(u.contact_point, u.counted_offset) for u in resent.kpi_updates] == [
        (ContactPoint.LOGISTICS, 0),
        ("overall", 0),
    ]
    # Once a later flush has recorded that they were sent, a new owner has nothing to resend.
    apply(state, first.tick(now=NOW))
    apply(state, first.tick(now=NOW))
    assert int(state[kpi_mark_key(P)]) == 0
    later = processor(state)
    later.load([P])
    assert later.tick(now=NOW).kpi_updates == []


def many_keys() -> list[bytes]:
    """Seven keys: acme's logistics and support, and one support key for five more accounts."""
    hour_ago = NOW - timedelta(hours=1)
    return [
        delivery("d1", at=hour_ago),
        csat("c1", "acme", 5, at=hour_ago),
        *(csat(f"c-{n}", f"account-{n}", n, at=hour_ago) for n in range(1, 6)),
    ]


def kpi_values(updates: Sequence[KpiUpdate]) -> dict[tuple[str, str], Any]:
    return {(u.account_id, str(u.contact_point)): (u.as_of, u.windows) for u in updates}


def test_a_kpi_flush_is_spread_over_batches_and_ticks_a_few_keys_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=lambda: 100.0))
    whole = processor({}, kpi_interval=10.0).process(records(many_keys()), now=NOW)
    state: dict[str, bytes] = {}
    worker = processor(state, kpi_interval=10.0, kpi_flush_keys=2)
    outcome = worker.process(records(many_keys()), now=NOW)
    apply(state, outcome)
    # The flush goes on at each tick, though its interval has not passed since it started.
    sent, slices = list(outcome.kpi_updates), [names(outcome.kpi_updates)]
    while worker.flushing:
        tick = worker.tick(now=NOW)
        apply(state, tick)
        sent += tick.kpi_updates
        slices.append(names(tick.kpi_updates))
    # Two keys per slice, but an account's keys stay together (with its health).
    assert slices == [
        ["account-1/support", "account-2/support", "account-1/overall", "account-2/overall"],
        ["account-3/support", "account-4/support", "account-3/overall", "account-4/overall"],
        [
            "account-5/support",
            "acme/logistics",
            "acme/support",
            "account-5/overall",
            "acme/overall",
        ],
    ]
    assert kpi_values(sent) == kpi_values(whole.kpi_updates)
    assert worker.tick(now=NOW).kpi_updates == []  # the next flush waits for its interval


def names(updates: Sequence[KpiUpdate]) -> list[str]:
    return [f"{u.account_id}/{u.contact_point}" for u in updates]


def test_the_marks_of_a_spread_flush_are_those_of_the_batch_it_started_in() -> None:
    """A key counted before a flush starts is in it; its mark is recorded (as delivered) once
    the next flush completes, so a crash before then makes the next owner send it again."""
    state: dict[str, bytes] = {}
    worker = processor(state, kpi_flush_keys=2)
    apply(state, worker.process(records(many_keys()), now=NOW))  # offsets 0..6, 3 slices
    late = csat("c-late", "account-9", 3, at=NOW - timedelta(minutes=30))
    apply(state, worker.process(records([late], first_offset=7), now=NOW))  # 2nd slice
    while worker.flushing:
        apply(state, worker.tick(now=NOW))
    assert kpi_mark_key(P) not in state  # the first flush: nothing known delivered yet
    crashed = processor(state)
    crashed.load([P])
    assert len(per_contact_point(crashed.tick(now=NOW))) == 8  # every key is sent again
    # The next flush takes account-9 (counted at offset 7, after the first flush started)
    # and, once complete, records the first flush's mark: offset 6.
    apply(state, worker.tick(now=NOW))
    assert not worker.flushing
    assert int(state[kpi_mark_key(P)]) == 6
    later = processor(state)
    later.load([P])
    assert [(u.account_id, u.counted_offset) for u in per_contact_point(later.tick(now=NOW))] == [
        ("account-9", 7)
    ]


def test_windows_end_at_the_stream_time_and_slide_with_the_clock_while_quiet() -> None:
    state: dict[str, bytes] = {}
    worker = TouchpointProcessor(
        accounts=directory(ACME, GLOBEX),
        state=state,
        policy=ValidationPolicy(),
        kpis=KpiConfig(),
        alert_rules=RULES,
        kpi_interval=0.0,
        idle_advance=300.0,
    )
    first = worker.process(
        records([delivery("e1", at=NOW - timedelta(minutes=30), hours_late=0)]), now=NOW
    )
    apply(state, first)
    logistics = next(u for u in first.kpi_updates if u.contact_point == ContactPoint.LOGISTICS)
    # The clock is 30 min past the only event: the windows end 5 min (idle_advance) before it.
    assert logistics.as_of == NOW - timedelta(minutes=5)
    assert logistics.windows["1h"]["otif"] == 1.0
    assert logistics.window_bounds["1h"] == (
        NOW - timedelta(minutes=60),
        NOW,
    )  # the 5-min bucket of as_of ends at NOW
    # Nothing happens for two hours: the 1 h window empties, the 24 h one still holds it.
    later = worker.tick(now=NOW + timedelta(hours=2))
    quiet = next(u for u in later.kpi_updates if u.contact_point == ContactPoint.LOGISTICS)
    assert quiet.as_of == NOW + timedelta(hours=2) - timedelta(minutes=5)
    assert quiet.windows["1h"]["otif"] is None
    assert quiet.windows["24h"]["otif"] == 1.0
    # An event older than the longest window behind the stream time is too late.
    old = worker.process(
        records([delivery("e0", at=NOW - timedelta(days=31))], first_offset=1),
        now=NOW + timedelta(hours=2),
    )
    assert old.too_late == 1


# --- the alert clock: stream time, not processing time --------------------------------------
def quiet_period_story() -> list[bytes]:
    """Four days ago: a late delivery, a day of on-time ones, a second late delivery 26 h
    after the first (its alert went quiet at 24 h, so this one is a new alert)."""
    start = NOW - timedelta(days=4)
    return [
        delivery("bad-1", at=start, hours_late=30),
        *(delivery(f"ok-{h}", at=start + timedelta(hours=h)) for h in range(1, 26)),
        delivery("bad-2", at=start + timedelta(hours=26), hours_late=30),
    ]


def event_alert_story(
    values: Sequence[bytes], *, batch: int, now: datetime
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The event-level alert transitions of ``values`` read ``batch`` at a time, and the final
    event-level alert states (without when they were notified)."""
    state: dict[str, bytes] = {}
    worker = processor(state)  # idle_advance 0: stream time is event time only
    told: list[tuple[str, str]] = []
    for first in range(0, len(values), batch):
        chunk = records(values[first : first + batch], first_offset=first)
        outcome = worker.process(chunk, now=now)
        apply(state, outcome)
        told += [
            (a.alert_key, a.evidence["transition"])
            for a in outcome.alerts
            if a.evidence.get("kind") == "event"
        ]
    final = {
        key: {field: data[field] for field in ("f", "s", "t0", "n", "ids", "tb")}
        for key, data in alert_states(state).items()
        if data["k"] == "event"
    }
    return told, final


@pytest.mark.parametrize("batch", [1, 5, 27])
@pytest.mark.parametrize("hours_later", [0, 30])
def test_event_alerts_follow_the_data_not_the_batches_or_the_clock(
    batch: int, hours_later: int
) -> None:
    values = quiet_period_story()
    told, final = event_alert_story(values, batch=batch, now=NOW + timedelta(hours=hours_later))
    # The first alert is notified, resolved after 24 h of stream time without a bad delivery,
    # and the second late delivery opens a new one: the same however the records were batched
    # and however late they were processed (bad-1 is 96 h old by the clock: past the 72 h
    # maximum age had processing time judged it, but just read by the stream's time).
    assert told == [(LATE, "new"), (LATE, "resolved"), (LATE, "new")]
    bad_2 = (NOW - timedelta(days=4) + timedelta(hours=26)).timestamp()
    assert final == {
        LATE: {"f": True, "s": "critical", "t0": bad_2, "n": 1, "ids": ["bad-2"], "tb": bad_2}
    }


def test_a_worker_that_falls_behind_the_clock_judges_age_by_its_clock_bound() -> None:
    """With the worker's idle advance, stream time never lags the clock by more than it: a
    backlog older than the maximum event age raises no alert (a backfill pages no one)."""
    state: dict[str, bytes] = {}
    worker = processor(state, idle_advance=IDLE_ADVANCE)
    outcome = worker.process(records(quiet_period_story()), now=NOW + timedelta(days=1))
    assert [a for a in outcome.alerts if a.evidence.get("kind") == "event"] == []


def test_the_days_since_the_executive_meeting_are_sent_again_each_whole_day() -> None:
    """With no new event, the sales update (and the account's health) is sent again when the
    stream time reaches each whole day since the meeting, and only then; the silence rule is
    judged on it, so a strategic account's silence fires on the 31st day by itself."""
    state: dict[str, bytes] = {}
    worker = TouchpointProcessor(
        accounts=directory(ACME, GLOBEX), state=state, policy=ValidationPolicy(),
        kpis=KpiConfig(), alert_rules=RULES, kpi_interval=0.0, idle_advance=300.0,
    )  # fmt: skip
    met = NOW - timedelta(days=29, hours=23)  # 30 whole days at NOW + 1 h, 31 at + 1 d 1 h
    meeting = event("m1", "acme", "executive_meeting_held", {"meeting_id": "m"}, at=met)

    def sent(outcome: BatchOutcome) -> list[tuple[str, datetime, float | None, float | None]]:
        """(contact point, as_of, days in 30d, score in 30d) of each update."""
        apply(state, outcome)
        return [
            (str(u.contact_point), u.as_of, u.windows["30d"].get("days_since_executive_contact"),
             u.windows["30d"]["experience_score"])
            for u in outcome.kpi_updates
        ]  # fmt: skip

    stream = NOW - timedelta(minutes=5)  # idle_advance behind the clock
    assert sent(worker.process(records([meeting]), now=NOW)) == [
        ("sales", stream, 29.0, 100.0), ("overall", stream, None, 100.0),
    ]  # fmt: skip
    # Stream time 55 min later: still 29 whole days, nothing to send.
    assert sent(worker.tick(now=NOW + timedelta(hours=1))) == []
    step = NOW + timedelta(hours=1)  # met + 30 days
    assert sent(worker.tick(now=step + timedelta(minutes=5))) == [
        ("sales", step, 30.0, 100.0), ("overall", step, None, 100.0),
    ]  # fmt: skip
    assert sent(worker.tick(now=step + timedelta(hours=23, minutes=59))) == []
    day_31 = step + timedelta(days=1, minutes=2)
    thirty_one = worker.tick(now=day_31 + timedelta(minutes=5))
    score = pytest.approx(100 - 50 / 30)  # anchors 30 -> 100, 60 -> 50
    assert sent(thirty_one) == [
        ("sales", day_31, 31.0, score), ("overall", day_31, None, score),
    ]  # fmt: skip
    assert [(a.alert_key, a.status, a.summary) for a in thirty_one.alerts] == [
        ("acme:sales:no_executive_contact", AlertStatus.FIRING,
         "No executive contact for 31 days (limit 30 days)"),
    ]  # fmt: skip


# --- KPI rules judged at steps of stream time -----------------------------------------------
JUDGE_STEP = 600.0


def otif_story() -> list[bytes]:
    """Acme's deliveries 3 min apart: five on time, three late (OTIF falls below its limit),
    then on time again until it recovers; a last one an hour later ends the story's steps."""
    start = NOW - timedelta(days=2)
    late = {5, 6, 7}
    values = [
        delivery(f"d{i}", at=start + timedelta(minutes=3 * i), hours_late=3 if i in late else 0)
        for i in range(80)
    ]
    return [*values, delivery("last", at=start + timedelta(hours=5))]


def kpi_alert_story(
    values: Sequence[bytes], *, batch: int, now: datetime, restart_at: int | None = None
) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """The KPI-rule transitions of ``values`` read ``batch`` at a time (a new processor on the
    same state from record ``restart_at`` on, as after a crash), and the final KPI states."""
    state: dict[str, bytes] = {}
    worker = processor(state, kpi_judge_step=JUDGE_STEP)
    told: list[tuple[str, str, str]] = []
    for first in range(0, len(values), batch):
        if restart_at is not None and first >= restart_at:
            worker, restart_at = processor(state, kpi_judge_step=JUDGE_STEP), None
            worker.load([P])
        chunk = records(values[first : first + batch], first_offset=first)
        outcome = worker.process(chunk, now=now)
        apply(state, outcome)
        told += [
            (a.alert_key, a.evidence["transition"], a.severity)
            for a in outcome.alerts
            if a.evidence.get("kind") != "event"
        ]
    final = {
        key: {field: data[field] for field in ("f", "s", "t0", "v", "pv")}
        for key, data in alert_states(state).items()
        if data["k"] == "kpi"
    }
    return told, final


def test_kpi_rules_judged_at_steps_of_stream_time_follow_the_data_alone() -> None:
    values = otif_story()
    reference = kpi_alert_story(values, batch=len(values), now=NOW)
    told, final = reference
    assert [(key, transition) for key, transition, _ in told if key == OTIF] == [
        (OTIF, "new"),
        (OTIF, "resolved"),
    ]
    assert final[OTIF]["f"] is False
    for batch, hours_later, restart_at in [(1, 0, None), (7, 30, None), (5, 0, 40), (13, 2, 26)]:
        story = kpi_alert_story(
            values, batch=batch, now=NOW + timedelta(hours=hours_later), restart_at=restart_at
        )
        # Transitions are paced per batch, states are not: compare what fired and the states.
        assert {(k, t) for k, t, _ in story[0]} >= {(k, t) for k, t, _ in told}, batch
        assert story[1] == final, (batch, hours_later, restart_at)


def test_a_batch_stores_its_alert_decisions_before_its_kpi_states_and_watermark() -> None:
    """A crash may let only the first records of a batch's state reach the changelog: the
    decisions go first, so a batch read again finds them and never loses alerts."""
    outcome = late_delivery_batch({})
    (kinds,) = [[parse_key(key)[1] for key in writes] for writes in outcome.state_writes.values()]
    decisions = [kind for kind in kinds if kind in ("alerts", "outbox", "judged")]
    assert kinds[: len(decisions)] == decisions and {"alerts", "outbox"} <= set(decisions)
    assert kinds[-1] == "offset" and "kpi" in kinds[len(decisions) :]


def test_a_kpi_flush_slice_also_ends_after_its_time_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each key costs one second of a fake clock: a 1.5 s budget ends a slice after two keys
    (an account's keys still together), whatever the key budget."""
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=lambda: 100.0))
    ticks = iter(range(1000))
    state: dict[str, bytes] = {}
    worker = TouchpointProcessor(
        accounts=directory(ACME, GLOBEX), state=state, policy=ValidationPolicy(),
        kpis=KpiConfig(), alert_rules=RULES, kpi_interval=10.0, kpi_flush_keys=50,
        kpi_flush_seconds=1.5, clock=lambda: float(next(ticks)),
    )  # fmt: skip
    outcome = worker.process(records(many_keys()), now=NOW)
    apply(state, outcome)
    slices = [names(outcome.kpi_updates)]
    while worker.flushing:
        tick = worker.tick(now=NOW)
        apply(state, tick)
        slices.append(names(tick.kpi_updates))
    assert [len([n for n in s if not n.endswith("/overall")]) for s in slices] == [2, 2, 3]
    assert slices[2] == [
        "account-5/support", "acme/logistics", "acme/support", "account-5/overall", "acme/overall"
    ]  # fmt: skip


def test_while_the_timer_drives_a_flush_batches_only_count_their_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch in the timer's rest computes none of the flush under way; the ticks compute
    all of it, the batch's keys with what the batch counted, as when batches take part."""
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=lambda: 100.0))

    def flushed(*, batches_leave_it: bool) -> list[list[KpiUpdate]]:
        state: dict[str, bytes] = {}
        worker = TouchpointProcessor(
            accounts=directory(ACME, GLOBEX), state=state, policy=ValidationPolicy(),
            kpis=KpiConfig(), alert_rules=RULES, kpi_interval=10.0, kpi_flush_keys=2,
        )  # fmt: skip
        first = worker.process(records(many_keys()), now=NOW)
        apply(state, first)
        worker.flush_in_ticks = batches_leave_it
        later = worker.process(records([csat("e9", "acme", 1, at=NOW)], first_offset=50), now=NOW)
        apply(state, later)
        slices = [first.kpi_updates, later.kpi_updates]
        while worker.flushing:
            tick = worker.tick(now=NOW)
            apply(state, tick)
            slices.append(tick.kpi_updates)
        return slices

    def content(slices: list[list[KpiUpdate]]) -> list[str]:
        return sorted(update.model_dump_json() for piece in slices for update in piece)

    left, shared = flushed(batches_leave_it=True), flushed(batches_leave_it=False)
    assert left[1] == [] and names(shared[1]) != []
    assert len(left) == len(shared) + 1  # the batch's slice went to one more tick
    assert content(left) == content(shared) and len(content(left)) > 4


def sliced_batch() -> list[bytes]:
    at = NOW - timedelta(hours=1)
    return [
        delivery("e1", at=at, hours_late=24),
        csat("e2", "globex", 1, at=at),
        delivery("e3", at=at + timedelta(minutes=1), hours_late=30),
        csat("e4", "acme", 2, at=at + timedelta(minutes=2)),
        csat("e5", "globex", 5, at=at + timedelta(minutes=3)),
    ]


def test_the_slices_of_a_batch_combine_to_one_outcome_each_key_written_once() -> None:
    """Slices of two, each reading the state the one before staged (as the worker processes a
    large batch): their combined outcome holds every output in order and writes each key once,
    its last value, in the order one pass writes a batch: decisions first, watermark last; its
    outbox holds the alerts of every slice (all are sent after the one state write)."""
    state: dict[str, bytes] = {}
    worker = processor(state)
    pieces: list[BatchOutcome] = []
    for first in range(0, 5, 2):
        part = records(sliced_batch()[first : first + 2], first_offset=first)
        pieces.append(piece := worker.process(part, now=NOW))
        apply(state, piece)
    combined = worker.combined(pieces)
    assert [i.event.event_id for i in combined.enriched] == ["e1", "e2", "e3", "e4", "e5"]
    assert combined.enriched_sources == [(TOPIC, P, offset) for offset in range(5)]
    assert combined.alerts == [a for piece in pieces for a in piece.alerts]
    seqs = [origin.version[0] for _, origin, _ in combined.alert_records]
    assert seqs == list(range(1, len(combined.alerts) + 1)) and len(seqs) >= 4
    rewritten = set(pieces[0].state_writes[P]) & set(pieces[2].state_writes[P])
    assert {offset_key(P), outbox_key(P)} <= rewritten
    from_combined: dict[str, bytes] = {}
    apply(from_combined, combined)
    assert pieces[0].alerts and not pieces[2].alerts
    assert processor(state).outbox([P]) == []  # the last slice's own outbox: nothing to send
    # A crash after the batch's state write, before any alert was sent: all are sent again.
    assert processor(from_combined).outbox([P]) == combined.alert_records
    assert {k: v for k, v in from_combined.items() if k != outbox_key(P)} == {
        k: v for k, v in state.items() if k != outbox_key(P)
    }
    # The next batch or tick empties the batch's outbox, as it would a one-pass batch's.
    apply(from_combined, worker.tick(now=NOW + timedelta(seconds=1)))
    assert processor(from_combined).outbox([P]) == []
    written = list(combined.state_writes[P])
    assert written[-1] == offset_key(P) and int(state[offset_key(P)]) == 4
    kinds = [parse_key(key)[1] for key in written]
    decisions = [n for n, kind in enumerate(kinds) if kind in {"alerts", "outbox", "chain"}]
    assert decisions == list(range(len(decisions)))
    assert {"alerts", "outbox"} <= set(kinds)
