"""apply_batch and apply_batch_encoded: each key touched once, outcomes counted."""

from __future__ import annotations

from schemas.touchpoints import ContactPoint
from streams.kpis import (
    ContactPointState,
    KpiConfig,
    StateKey,
    account_snapshots,
    apply_batch,
    apply_batch_encoded,
    score_account,
)
from tests.unit.streams.test_kpi_events import at, delivery, event, ticket_time

CONFIG = KpiConfig()
ACME_LOG = StateKey("acme", ContactPoint.LOGISTICS)
ACME_SUP = StateKey("acme", ContactPoint.SUPPORT)
BETA_LOG = StateKey("beta:co", ContactPoint.LOGISTICS)


def batch_one() -> list[object]:
    return [
        delivery(at(days=40)),
        delivery(at(days=40, hours=1), late_hours=3, account="beta:co"),
        ticket_time("ticket_first_response", at(days=40), 30),
        event("shipment_dispatched", at(days=40), "gamma", shipment_id="s", promised_at=at()),
    ]


def test_apply_batch_routes_by_account_and_contact_point() -> None:
    states: dict[StateKey, ContactPointState] = {}
    result = apply_batch(states, batch_one(), config=CONFIG)  # type: ignore[arg-type]
    assert result.touched == {ACME_LOG, ACME_SUP, BETA_LOG}
    assert result.outcomes == {"applied": 3, "ignored": 1}
    late = apply_batch(states, [delivery(at()), delivery(at(days=40))], config=CONFIG)
    assert late.touched == {ACME_LOG}
    assert late.outcomes == {"applied": 1, "too_late": 1}
    snapshot = states[ACME_LOG].snapshot(as_of=at(days=40), window="24h")
    assert snapshot["otif"] == 1.0
    assert states[BETA_LOG].snapshot(as_of=at(days=40, hours=1), window="24h")["otif"] == 0.0


def test_encoded_batches_match_decoded_ones() -> None:
    table: dict[str, bytes] = {}
    second = [delivery(at(days=41), damaged=5), ticket_time("ticket_resolved", at(days=41), 90)]
    for batch in (batch_one(), second):
        result, touched = apply_batch_encoded(table, batch, config=CONFIG)  # type: ignore[arg-type]
        assert set(touched) == result.touched
    assert sorted(table) == ["logistics:acme", "logistics:beta:co", "support:acme"]
    assert StateKey.decode("logistics:beta:co") == BETA_LOG
    direct: dict[StateKey, ContactPointState] = {}
    apply_batch(direct, [*batch_one(), *second], config=CONFIG)  # type: ignore[list-item]
    for key, state in direct.items():
        if key.account_id != "gamma":
            stored = ContactPointState.from_bytes(table[key.encode()], config=CONFIG)
            assert stored.snapshots(as_of=at(days=41)) == state.snapshots(as_of=at(days=41))


def test_far_future_events_are_too_early_with_a_clock() -> None:
    states: dict[StateKey, ContactPointState] = {}
    now = at(days=40)
    batch = [delivery(at(days=40, minutes=60)), delivery(at(days=40, minutes=61))]
    result = apply_batch(states, batch, config=CONFIG, now=now)  # max_future_skew 1 h
    assert result.outcomes == {"applied": 1, "too_early": 1}
    assert states[ACME_LOG].hwm == int(at(days=40, hours=1).timestamp())


def test_account_snapshots_feed_the_account_score() -> None:
    table: dict[str, bytes] = {}
    apply_batch_encoded(table, batch_one(), config=CONFIG)  # type: ignore[arg-type]
    snapshots = account_snapshots(table, "acme", as_of=at(days=40), window="30d", config=CONFIG)
    assert set(snapshots) == {ContactPoint.LOGISTICS, ContactPoint.SUPPORT}
    assert snapshots[ContactPoint.SUPPORT]["first_response_minutes_p50"] == 30.0
    health = score_account(snapshots, CONFIG.score)
    # logistics: every scored KPI with data at its best -> 100; support: the only scored KPI
    # with data is sla_attainment, 1 of 1 replies within 4 h -> 100
    assert (health.score, health.worst_of_poor) == (100.0, False)
    assert health.contact_point_scores == {
        ContactPoint.LOGISTICS: 100.0,
        ContactPoint.SUPPORT: 100.0,
    }
