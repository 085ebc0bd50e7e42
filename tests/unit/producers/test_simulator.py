"""The simulator: deterministic, catalogue-complete, realistic payloads, exact mixes per seed."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from kam.settings import KafkaSettings, TopicSettings
from producers import InvalidTouchpointError, to_touchpoint
from producers.exceptions import SimulationConfigError
from producers.scenarios import SCENARIOS, SLA_MINUTES
from producers.simulation import SimulationReport, pacing_delay, simulate
from producers.simulator import (
    SimulatedMessage,
    SimulationConfig,
    simulate_messages,
    simulated_accounts,
)
from schemas import EVENT_TYPES, AccountTier, ContactPoint, FailureType, parse_touchpoint
from streams.alerting.events import bad_experiences

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def take(count: int, **config: object) -> list[SimulatedMessage]:
    return list(islice(simulate_messages(SimulationConfig(start=START, **config)), count))  # type: ignore[arg-type]


def within(observed: int, n: int, p: float) -> bool:
    """``observed`` lies within four standard deviations of a Binomial(n, p) mean."""
    return abs(observed - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first = take(300, seed=11, invalid_fraction=0.1)
    again = take(300, seed=11, invalid_fraction=0.1)
    other = take(300, seed=12, invalid_fraction=0.1)
    assert [(m.key, m.value) for m in first] == [(m.key, m.value) for m in again]
    assert [m.value for m in first] != [m.value for m in other]
    config = SimulationConfig(seed=11, start=START)
    assert simulated_accounts(config) == simulated_accounts(config)
    assert simulated_accounts(config) != simulated_accounts(SimulationConfig(seed=12, start=START))


def test_scenarios_cover_the_whole_catalogue() -> None:
    assert {s.event_type for s in SCENARIOS} == set(EVENT_TYPES)
    messages = take(6000, seed=3, bad_probability=0.5)
    assert {m.event.event_type for m in messages if m.event} == set(EVENT_TYPES)
    assert {m.rule for m in messages} == {s.rule for s in SCENARIOS}


def test_every_valid_event_validates_and_is_its_wire_value() -> None:
    for message in take(3000, seed=5, bad_probability=0.3):
        assert message.event is not None
        assert parse_touchpoint(message.value) == message.event
        assert message.value == message.event.model_dump_json().encode()
        assert message.key == message.event.account_id
        assert message.event.trace_id is not None


def test_bad_experience_labels_agree_with_the_alert_engine() -> None:
    for message in take(4000, seed=8, bad_probability=0.4):
        assert message.event is not None
        found = {bad.rule for bad in bad_experiences(message.event)}
        assert found == ({message.rule} if message.rule else set()), message.value


def test_payloads_are_consistent_with_their_label() -> None:
    for message in take(4000, seed=9, bad_probability=0.5):
        event = message.event
        assert event is not None
        p = event.payload
        if event.event_type == "delivery_completed":
            late = p.delivered_at > p.promised_at  # type: ignore[union-attr]
            short = p.delivered_qty < p.ordered_qty  # type: ignore[union-attr]
            assert (late, short, p.damaged_qty > 0) == (  # type: ignore[union-attr]
                message.rule == "late_delivery",
                message.rule == "short_delivery",
                message.rule == "damaged_goods",
            )
            assert p.delivered_at == event.occurred_at  # type: ignore[union-attr]
        if event.event_type == "ticket_first_response":
            sla = timedelta(minutes=SLA_MINUTES[p.priority][0])  # type: ignore[union-attr]
            breached = event.occurred_at - p.opened_at > sla  # type: ignore[union-attr]
            assert breached == (message.rule == "first_response_sla_breach")
        if event.event_type == "csat_submitted":
            assert (p.score <= 2) == (message.rule == "low_csat")  # type: ignore[union-attr]


def test_bad_probability_zero_one_and_per_contact_point() -> None:
    assert {m.rule for m in take(2000, seed=1, bad_probability=0.0)} == {None}
    assert None not in {m.rule for m in take(2000, seed=1, bad_probability=1.0)}
    only_logistics = take(2000, seed=1, bad_probability={ContactPoint.LOGISTICS: 1.0})
    for message in only_logistics:
        assert message.event is not None
        is_logistics = message.event.contact_point is ContactPoint.LOGISTICS
        assert (message.rule is not None) == is_logistics


def test_exact_mix_and_bad_counts_for_seed_7() -> None:
    n = 10_000
    messages = take(n, seed=7, bad_probability=0.1)
    per_cp = Counter(m.event.contact_point for m in messages if m.event)
    bad_per_cp = Counter(m.event.contact_point for m in messages if m.event and m.rule)
    # Pinned for seed 7 (any change to the generator shows up here) ...
    assert dict(per_cp) == {
        ContactPoint.SALES: 1824, ContactPoint.LOGISTICS: 3562,
        ContactPoint.SUPPORT: 2763, ContactPoint.BILLING: 1851,
    }
    assert dict(bad_per_cp) == {
        ContactPoint.SALES: 188, ContactPoint.LOGISTICS: 335,
        ContactPoint.SUPPORT: 258, ContactPoint.BILLING: 185,
    }
    # ... and consistent with the configured mix 2:4:3:2 and the 10% bad probability.
    weights = {ContactPoint.SALES: 2, ContactPoint.LOGISTICS: 4, ContactPoint.SUPPORT: 3,
               ContactPoint.BILLING: 2}
    for cp, weight in weights.items():
        assert within(per_cp[cp], n, weight / 11)
        assert within(bad_per_cp[cp], per_cp[cp], 0.1)


def test_event_mix_within_a_contact_point() -> None:
    mix = {"ticket_opened": 3.0, "csat_submitted": 1.0, "ticket_reopened": 1.0}
    messages = take(4000, seed=2, bad_probability=0.0,
                    contact_point_mix={ContactPoint.SUPPORT: 1.0}, event_mix=mix)
    counts = Counter(m.event.event_type for m in messages if m.event)
    assert set(counts) == {"ticket_opened", "csat_submitted"}  # reopened is never good
    assert counts["ticket_opened"] + counts["csat_submitted"] == 4000
    assert counts["ticket_opened"] == 2953
    assert within(counts["ticket_opened"], 4000, 0.75)


def test_invalid_messages_fail_with_their_declared_type() -> None:
    messages = take(3000, seed=4, invalid_fraction=0.2)
    invalid = [m for m in messages if m.invalid]
    assert len(invalid) == 560
    assert within(len(invalid), 3000, 0.2)
    assert {m.invalid for m in invalid} == {
        FailureType.NOT_JSON, FailureType.NOT_UTF8, FailureType.SCHEMA_VIOLATION,
        FailureType.UNKNOWN_EVENT_TYPE, FailureType.UNSUPPORTED_SCHEMA_VERSION,
    }
    for message in invalid:
        assert message.event is None
        with pytest.raises(InvalidTouchpointError) as info:
            to_touchpoint(message.value)
        assert info.value.failure_type is message.invalid
        assert message.key.startswith("acct-")


def test_simulated_clock_starts_at_start_and_advances() -> None:
    messages = take(2000, seed=6, mean_gap_seconds=2.0)
    times = [m.event.occurred_at for m in messages if m.event]
    assert times == sorted(times)
    assert START < times[0] < START + timedelta(seconds=30)
    span = (times[-1] - START).total_seconds()
    assert 2000 * 2.0 * 0.9 < span < 2000 * 2.0 * 1.1


def test_accounts_by_tier_with_owners_and_teams() -> None:
    accounts = simulated_accounts(SimulationConfig(seed=1, accounts=50, start=START))
    tiers = Counter(a.tier for a in accounts)
    assert tiers == {AccountTier.STRATEGIC: 5, AccountTier.KEY: 10, AccountTier.STANDARD: 35}
    assert len({a.account_id for a in accounts}) == len({a.name for a in accounts}) == 50
    for account in accounts:
        served = account.tier in (AccountTier.STRATEGIC, AccountTier.KEY)
        assert (account.kam_owner is not None) == served
        assert account.kam_team == (account.kam_team if served else "inside-sales")
        assert account.updated_at == START
    strategic = [a.tier_score or 0 for a in accounts if a.tier is AccountTier.STRATEGIC]
    assert min(strategic) >= 80
    many = simulated_accounts(SimulationConfig(seed=1, accounts=400, start=START))
    assert len({a.name for a in many}) == 400


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"event_mix": {"fax_received": 1.0}}, "unknown event types in the mix: ['fax_received']"),
        ({"bad_probability": 1.5}, "probabilities must lie in [0, 1]"),
        ({"accounts": 0}, "at least one account is needed"),
        ({"start": datetime(2026, 1, 1)}, "start must be timezone-aware"),
    ],
)
def test_config_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message.replace("[", r"\[")):
        SimulationConfig(**config)  # type: ignore[arg-type]


def test_mix_without_a_bad_type_cannot_be_bad() -> None:
    with pytest.raises(SimulationConfigError, match="no bad billing event type"):
        take(1, event_mix={"invoice_issued": 1.0}, bad_probability=0.1,
             contact_point_mix={ContactPoint.BILLING: 1.0})


def test_pacing_and_report_arithmetic() -> None:
    assert pacing_delay(0, rate=100, elapsed=0.0) == 0.0
    assert pacing_delay(50, rate=100, elapsed=0.2) == pytest.approx(0.3)
    assert pacing_delay(50, rate=100, elapsed=0.7) == 0.0
    assert pacing_delay(10_000, rate=None, elapsed=0.0) == 0.0
    report = SimulationReport(accounts=5, events=180, bad_experiences=9, invalid=20, failed=0,
                              elapsed_seconds=2.0, target_rate=100.0)
    assert (report.sent, report.achieved_rate) == (200, 100.0)
    assert report.summary() == (
        "5 accounts, 180 events (9 bad experiences), 20 invalid, 0 failed deliveries "
        "in 2.00s: 100 records/s (target 100/s)"
    )


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"events": None, "duration": None}, "bound the run"),
        ({"rate": None, "duration": 5.0}, "an unthrottled run needs a number of events"),
    ],
)
def test_simulate_refuses_unbounded_runs(bounds: dict[str, object], message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message):
        simulate(kafka=KafkaSettings(), topics=TopicSettings(), **bounds)  # type: ignore[arg-type]


def test_order_chains_name_one_troubled_order_per_three_bad_events() -> None:
    plain = take(2_000, seed=5, bad_probability=0.2)
    chained = take(2_000, seed=5, bad_probability=0.2, order_chains=1.0)
    tiers = {a.account_id: a.tier for a in simulated_accounts(SimulationConfig(start=START))}
    named: dict[str, list[str]] = {}
    for before, after in zip(plain, chained, strict=True):
        if after.event is None or before.event is None:
            assert before.value == after.value
            continue
        was = getattr(before.event.payload, "order_id", None)
        order = getattr(after.event.payload, "order_id", None)
        names_it = order is not None and order != was
        alerting = tiers[after.key] in {AccountTier.STRATEGIC, AccountTier.KEY}
        can_name = "order_id" in type(after.event.payload).model_fields
        assert names_it == (after.rule is not None and alerting and can_name)
        if names_it:
            named.setdefault(after.key, []).append(str(order))
    assert named, "the run names troubled orders"
    for account, orders in named.items():
        assert orders == [f"SO-{account}-{i // 3 + 1}" for i in range(len(orders))]
