"""The text of ``kam accounts explain``: every criterion, thresholds, override, last change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.accounts import AccountRow, CurrentState, plan_load
from producers.accounts.explain import explain
from producers.tiering import (
    DEFAULT_CONFIG_PATH,
    Thresholds,
    TieringConfig,
    decide_account_tier,
    load_tiering_config,
)
from schemas.accounts import Account, AccountTier, TierOverride

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACME = Account(
    account_id="ACME-001",
    name="Acme Automotive GmbH",
    segment="automotive",
    kam_owner="alice",
    kam_team="DACH",
    annual_revenue_eur=1e9,
    purchase_volume_12m_eur=1e6,
    billing_volume_12m_eur=1e6,
    growth_potential=8,
    industry_weight=6,
    current_profitability_pct=20,
    potential_profitability_pct=30,
)
TABLE = """\
criterion                                  value normalised  weight  applied contribution
size                           1,000,000,000 EUR      75.00    0.10     0.10         7.50
purchase_volume                    1,000,000 EUR      50.00    0.15     0.15         7.50
billing_volume                     1,000,000 EUR      50.00    0.10     0.10         5.00
growth_potential                            8/10      80.00    0.15     0.15        12.00
industry_weight                             6/10      60.00    0.10     0.10         6.00
influence                                missing          -    0.10     0.10         0.00
current_profitability                        20%      50.00    0.10     0.10         5.00
potential_profitability                      30%      75.00    0.10     0.10         7.50
target_segment                        automotive     100.00    0.10     0.10        10.00
total                                                          1.00     1.00        60.50
"""


@pytest.fixture(scope="module")
def config() -> TieringConfig:
    return load_tiering_config(DEFAULT_CONFIG_PATH)


def explained(config: TieringConfig, override: TierOverride | None = None) -> str:
    plan = plan_load(
        [AccountRow(line=2, account=ACME, override=override)],
        config=config, state=CurrentState(), now=NOW,
    )
    account = plan.accounts[0]
    decision = decide_account_tier(account, config=config, decided_at=NOW)
    return explain(account, decision, config=config, status=plan.statuses[0])


def test_explanation_lists_every_criterion(config: TieringConfig) -> None:
    assert explained(config) == (
        "Account ACME-001: Acme Automotive GmbH (segment automotive, KAM alice, team DACH)\n"
        "Tier: key, score 60.50 (model 2026.11-1)\n"
        "Why: score 60.50 >= key threshold 50.00 and < strategic threshold 75.00; "
        "missing influence (counted as 0)\n"
        "Thresholds: strategic >= 75.00, key >= 50.00, standard below; "
        "missing criteria count as 0\n"
        "\n" + TABLE + "\n"
        "Override: none\n"
        "Last tier change: (none) -> key at 2026-11-27T12:00:00+00:00\n"
    )


def test_explanation_shows_the_override_and_its_reason(config: TieringConfig) -> None:
    override = TierOverride(
        tier=AccountTier.STRATEGIC, reason="Entry to the EV market", by="ceo", at=NOW
    )
    lines = explained(config, override).splitlines()
    assert lines[1] == "Tier: strategic, score 60.50 (model 2026.11-1)"
    assert lines[2] == (
        "Why: manual override to strategic by ceo at 2026-11-27T12:00:00+00:00: Entry to the "
        "EV market (model: key, score 60.50 >= key threshold 50.00 and < strategic threshold "
        "75.00; missing influence (counted as 0))"
    )
    assert lines[-2:] == [
        "Override: strategic by ceo at 2026-11-27T12:00:00+00:00: Entry to the EV market "
        "(the score alone gives key)",
        "Last tier change: (none) -> strategic at 2026-11-27T12:00:00+00:00",
    ]


def test_a_changed_configuration_is_pointed_out(config: TieringConfig) -> None:
    plan = plan_load(
        [AccountRow(line=2, account=ACME, override=None)],
        config=config, state=CurrentState(), now=NOW,
    )
    newer = config.model_copy(
        update={"thresholds": Thresholds(strategic=60, key=40), "model_version": "2027.01-1"}
    )
    decision = decide_account_tier(plan.accounts[0], config=newer, decided_at=NOW)
    text = explain(plan.accounts[0], decision, config=newer, status=None)
    assert text.splitlines()[-2:] == [
        "Last tier change: none recorded",
        "Note: the current configuration (model 2027.01-1) gives tier strategic, score 60.50; "
        "the stored tier dates from model 2026.11-1. Load the master data again to apply it.",
    ]
