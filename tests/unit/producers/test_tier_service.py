"""How the simulated departments serve tiers (the treatment-gap demo) and accounts that behave
unlike their tier (the tier-review demo)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import islice

from producers.scenarios import (
    BEHAVES_STRATEGIC,
    ELAPSED_FIELDS,
    TierService,
    served_faster,
    tiers_ignored_by,
)
from producers.simulator import SimulatedMessage, SimulationConfig, simulate_messages
from schemas import AccountTier, ContactPoint

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SPEED_ONLY = dict.fromkeys(AccountTier, 1.0)


def run(count: int, **config: object) -> list[SimulatedMessage]:
    return list(islice(simulate_messages(SimulationConfig(seed=5, start=START, **config)), count))  # type: ignore[arg-type]


def test_served_faster_scales_each_elapsed_time_to_whole_seconds() -> None:
    at = START + timedelta(hours=1)
    payload = {"ticket_id": "T-1", "opened_at": (at - timedelta(seconds=601)).isoformat()}
    assert served_faster(payload, at, 0.4) == {
        "ticket_id": "T-1", "opened_at": (at - timedelta(seconds=240)).isoformat()}  # fmt: skip
    assert served_faster(payload, at, 1.0) is payload


def test_a_tier_blind_department_answers_like_without_tiers_the_others_faster() -> None:
    """Same seed, same draws: only the good events' elapsed times of the departments that
    serve tiers change, by exactly their tier's factor."""
    plain = run(4000)
    service = tiers_ignored_by(ContactPoint.SUPPORT)
    served = run(4000, tier_service=TierService(bad_factor=SPEED_ONLY, blind=service.blind))
    tiers = {"acct-0000": AccountTier.STRATEGIC}  # the simulator's first account is strategic
    changed = 0
    for before, after in zip(plain, served, strict=True):
        assert (before.key, before.rule, before.invalid) == (after.key, after.rule, after.invalid)
        if before.event is None or after.event is None:
            continue
        old, new = before.event.payload.model_dump(), after.event.payload.model_dump()
        cp = before.event.contact_point
        scaled = [f for f in ELAPSED_FIELDS if f in old and old[f] != new[f]]
        if cp is ContactPoint.SUPPORT or before.rule is not None:
            assert old == new
        elif before.key in tiers and scaled:
            at = before.event.occurred_at
            for name in scaled:
                elapsed = (at - old[name]).total_seconds()
                assert (at - new[name]).total_seconds() == round(elapsed * 0.4)
            changed += 1
    assert changed > 20


def test_strategic_accounts_meet_fewer_bad_experiences_where_tiers_are_served() -> None:
    messages = run(20_000, bad_probability=0.2, tier_service=tiers_ignored_by(ContactPoint.BILLING))
    strategic = {f"acct-{i:04d}" for i in range(5)}  # 10% of 50 accounts
    counts: dict[tuple[bool, bool], list[int]] = {}
    for m in messages:
        if m.event is None:
            continue
        key = (m.key in strategic, m.event.contact_point is ContactPoint.BILLING)
        bad_total = counts.setdefault(key, [0, 0])
        bad_total[0] += m.rule is not None
        bad_total[1] += 1
    share = {key: bad / total for key, (bad, total) in counts.items()}
    assert 0.17 < share[True, True] < 0.23 and 0.17 < share[False, True] < 0.23  # blind
    assert 0.03 < share[True, False] < 0.07  # 0.2 x 0.25


def test_an_account_can_behave_unlike_its_tier() -> None:
    rng = random.Random(1)
    payment = {"invoice_id": "I-1", "amount": 100.0, "days_late": 12}
    assert BEHAVES_STRATEGIC.apply(payment, rng) == {
        "invoice_id": "I-1", "amount": 200.0, "days_late": 0}  # fmt: skip
    messages = run(6000, behaviour={"acct-0049": BEHAVES_STRATEGIC})
    mine = [m for m in messages if m.key == "acct-0049" and m.event is not None]
    plain = [m for m in run(6000) if m.key == "acct-0049"]
    assert len(mine) > 2.5 * len(plain)  # the activity of a strategic account, not a standard
    paid = [m.event.payload for m in mine if m.event and m.event.event_type == "payment_received"]
    assert paid and all(p.days_late == 0 for p in paid)  # type: ignore[union-attr]
