"""What a load publishes: new/changed accounts, and status records only for tier changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.accounts import AccountRow, CurrentState, plan_load
from producers.tiering import DEFAULT_CONFIG_PATH, TieringConfig, load_tiering_config
from schemas.accounts import Account, AccountTier, TierOverride

T1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> TieringConfig:
    return load_tiering_config(DEFAULT_CONFIG_PATH)


def acme(**changes: object) -> Account:
    """The docs' worked example: score 67.50, tier key with the shipped configuration."""
    data: dict[str, object] = {
        "account_id": "ACME-001",
        "name": "Acme Automotive GmbH",
        "segment": "automotive",
        "annual_revenue_eur": 1e9,
        "purchase_volume_12m_eur": 1e6,
        "billing_volume_12m_eur": 1e6,
        "growth_potential": 8,
        "industry_weight": 6,
        "influence": 7,
        "current_profitability_pct": 20,
        "potential_profitability_pct": 30,
    }
    return Account.model_validate(data | changes)


def small(account_id: str) -> Account:
    """Only influence 5 -> 50 x 0.10 = 5.00 points: standard."""
    return Account(account_id=account_id, name=account_id, influence=5)


def rows(*accounts: Account, override: TierOverride | None = None) -> list[AccountRow]:
    return [
        AccountRow(line=i + 2, account=a, override=override if i == 0 else None)
        for i, a in enumerate(accounts)
    ]


def test_first_load_publishes_every_account_and_a_first_status(config: TieringConfig) -> None:
    plan = plan_load(rows(acme(), small("S1")), config=config, state=CurrentState(), now=T1)
    assert [(a.account_id, a.tier, a.tier_score) for a in plan.accounts] == [
        ("ACME-001", AccountTier.KEY, 67.5),
        ("S1", AccountTier.STANDARD, 5.0),
    ]
    published = plan.accounts[0]
    assert published.updated_at == T1
    assert published.tier_model_version == config.model_version
    assert published.model_dump(exclude=set(acme().model_fields_set)) == {
        "tier": AccountTier.KEY, "tier_score": 67.5, "kam_owner": None, "kam_team": None,
        "parent_account_id": None, "updated_at": T1, "tier_override": None,
        "tier_model_version": config.model_version,
    }
    assert [(s.account_id, s.previous_tier, s.tier, s.score) for s in plan.statuses] == [
        ("ACME-001", None, AccountTier.KEY, 67.5),
        ("S1", None, AccountTier.STANDARD, 5.0),
    ]
    status = plan.statuses[0]
    assert status.changed_at == T1
    assert status.contributions == plan.decisions[0].contributions
    assert status.reason == plan.decisions[0].reason
    assert plan.unchanged == 0


def state_after(plan_accounts: list[Account], config: TieringConfig) -> CurrentState:
    first = plan_load(rows(*plan_accounts), config=config, state=CurrentState(), now=T1)
    return CurrentState(
        accounts={a.account_id: a for a in first.accounts},
        statuses={s.account_id: s for s in first.statuses},
    )


def test_same_rows_again_publish_nothing(config: TieringConfig) -> None:
    state = state_after([acme(), small("S1")], config)
    plan = plan_load(rows(acme(), small("S1")), config=config, state=state, now=T2)
    assert (plan.accounts, plan.statuses, plan.unchanged) == ((), (), 2)


def test_changed_data_without_tier_change_republishes_the_account_only(
    config: TieringConfig,
) -> None:
    state = state_after([acme(), small("S1")], config)
    # influence 7 -> 8: +1.00 point, 68.50, still key
    plan = plan_load(rows(acme(influence=8), small("S1")), config=config, state=state, now=T2)
    assert [(a.account_id, a.tier_score, a.updated_at) for a in plan.accounts] == [
        ("ACME-001", 68.5, T2)
    ]
    assert plan.statuses == ()


def test_a_tier_change_publishes_exactly_one_status(config: TieringConfig) -> None:
    state = state_after([acme(), small("S1")], config)
    # growth 8 -> 10 (+3.00), influence 7 -> 10 (+3.00), industry 6 -> 7 (+1.00): 74.50 key;
    # potential profitability 30 -> 36 (+1.50): 76.00 strategic
    changed = acme(growth_potential=10, influence=10, industry_weight=7,
                   potential_profitability_pct=36)
    plan = plan_load(rows(changed, small("S1")), config=config, state=state, now=T2)
    changes = [(s.account_id, s.previous_tier, s.tier, s.score, s.changed_at)
               for s in plan.statuses]
    assert changes == [("ACME-001", AccountTier.KEY, AccountTier.STRATEGIC, 76.0, T2)]
    assert [a.account_id for a in plan.accounts] == ["ACME-001"]


def test_override_is_a_tier_change_and_keeps_its_first_time(config: TieringConfig) -> None:
    state = state_after([acme()], config)
    override = TierOverride(tier=AccountTier.STRATEGIC, reason="Board decision", by="ceo", at=T1)
    first = plan_load(rows(acme(), override=override), config=config, state=state, now=T1)
    assert [(s.previous_tier, s.tier, s.scored_tier) for s in first.statuses] == [
        (AccountTier.KEY, AccountTier.STRATEGIC, AccountTier.KEY)
    ]
    assert first.statuses[0].override == override
    after = CurrentState(
        accounts={a.account_id: a for a in first.accounts},
        statuses={s.account_id: s for s in first.statuses},
    )
    again = TierOverride(tier=AccountTier.STRATEGIC, reason="Board decision", by="ceo", at=T2)
    second = plan_load(rows(acme(), override=again), config=config, state=after, now=T2)
    assert (second.accounts, second.statuses) == ((), ())
    assert second.decisions[0].override == override  # recorded at T1, not T2
    dropped = plan_load(rows(acme()), config=config, state=after, now=T2)
    assert [(s.previous_tier, s.tier, s.override) for s in dropped.statuses] == [
        (AccountTier.STRATEGIC, AccountTier.KEY, None)
    ]


def test_missing_status_is_published_even_when_the_account_is_unchanged(
    config: TieringConfig,
) -> None:
    """A load interrupted after the accounts but before the statuses heals on the next one."""
    state = state_after([acme()], config)
    half = CurrentState(accounts=state.accounts, statuses={})
    plan = plan_load(rows(acme()), config=config, state=half, now=T2)
    assert plan.accounts == ()
    assert [(s.previous_tier, s.tier) for s in plan.statuses] == [(None, AccountTier.KEY)]
