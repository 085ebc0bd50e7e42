"""The tiering model on hand-worked numbers: scores, ties, missing criteria, overrides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.tiering import (
    DEFAULT_CONFIG_PATH,
    OverrideError,
    TieringConfig,
    decide_account_tier,
    decide_tier,
    load_tiering_config,
    manual_override,
    parse_tiering_config,
)
from schemas.accounts import Account, AccountTier

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def small_config(
    *, missing_policy: str = "zero", strategic: float = 75, key: float = 50
) -> TieringConfig:
    """Three criteria: growth (0.5, rating 0-10), purchases (0.3, log 1e4..1e8), segment (0.2)."""
    return parse_tiering_config(
        {
            "model_version": "test-1",
            "missing_policy": missing_policy,
            "thresholds": {"strategic": strategic, "key": key},
            "criteria": {
                "growth_potential": {
                    "weight": 0.5,
                    "normalisation": {"scale": "linear", "low": 0, "high": 10},
                },
                "purchase_volume": {
                    "weight": 0.3,
                    "normalisation": {"scale": "log", "low": 10_000, "high": 100_000_000},
                },
                "target_segment": {
                    "weight": 0.2,
                    "normalisation": {"scale": "set", "values": ["pharma", "Automotive"]},
                },
            },
        }
    )


def test_score_is_the_weighted_sum_of_normalised_criteria() -> None:
    # growth 6 -> 60 x 0.5 = 30; purchases 1e6 -> (6-4)/(8-4) = 50 x 0.3 = 15; pharma -> 100 x 0.2
    decision = decide_tier(
        "ACME",
        {"growth_potential": 6, "purchase_volume": 1_000_000, "target_segment": "PHARMA"},
        config=small_config(),
        decided_at=NOW,
    )
    assert decision.score == 65.0
    assert decision.tier is AccountTier.KEY
    assert decision.scored_tier is AccountTier.KEY
    assert [(c.criterion, c.normalised, c.contribution) for c in decision.contributions] == [
        ("growth_potential", 60.0, 30.0),
        ("purchase_volume", 50.0, 15.0),
        ("target_segment", 100.0, 20.0),
    ]
    assert decision.missing == ()
    assert decision.override is None
    assert decision.model_version == "test-1"
    assert decision.decided_at == NOW
    assert decision.reason == "score 65.00 >= key threshold 50.00 and < strategic threshold 75.00"


def test_values_are_clamped_to_the_scale_bounds() -> None:
    decision = decide_tier(
        "A",
        {"growth_potential": 10, "purchase_volume": 5e9, "target_segment": "retail"},
        config=small_config(),
        decided_at=NOW,
    )
    assert [c.normalised for c in decision.contributions] == [100.0, 100.0, 0.0]
    assert decision.score == 80.0
    below = decide_tier(
        "B", {"growth_potential": 0, "purchase_volume": 0, "target_segment": "x"},
        config=small_config(), decided_at=NOW,
    )
    assert below.score == 0.0
    assert below.tier is AccountTier.STANDARD


@pytest.mark.parametrize(
    ("growth", "tier"),
    [
        (10.0, AccountTier.STRATEGIC),  # 50 + 15 + 20 = 85
        (8.0, AccountTier.STRATEGIC),  # 40 + 15 + 20 = 75: exactly at strategic -> strategic
        (7.98, AccountTier.KEY),  # 39.9 + 35 = 74.9
        (3.0, AccountTier.KEY),  # 15 + 35 = 50: exactly at key -> key
        (2.98, AccountTier.STANDARD),  # 14.9 + 35 = 49.9
    ],
)
def test_a_score_exactly_at_a_threshold_gets_the_higher_tier(
    growth: float, tier: AccountTier
) -> None:
    decision = decide_tier(
        "A",
        {"growth_potential": growth, "purchase_volume": 1_000_000, "target_segment": "pharma"},
        config=small_config(),
        decided_at=NOW,
    )
    assert decision.tier is tier


def test_floating_point_noise_does_not_push_a_score_under_its_threshold() -> None:
    # growth 6.6 -> 65.99999999999999 x 0.5 + 15 = 47.99999999999999 raw; rounded to 48.00
    decision = decide_tier(
        "A",
        {"growth_potential": 6.6, "purchase_volume": 1_000_000, "target_segment": "retail"},
        config=small_config(strategic=90, key=48),
        decided_at=NOW,
    )
    assert decision.score == 48.0
    assert decision.tier is AccountTier.KEY


def test_missing_criteria_count_as_zero_and_are_listed() -> None:
    decision = decide_tier(
        "A", {"growth_potential": 8, "target_segment": "  "}, config=small_config(), decided_at=NOW
    )
    assert decision.missing == ("purchase_volume", "target_segment")
    assert decision.score == 40.0
    assert decision.tier is AccountTier.STANDARD
    missing = decision.contributions[1]
    assert (missing.value, missing.normalised, missing.contribution) == (None, None, 0.0)
    assert missing.effective_weight == 0.3
    assert decision.reason == (
        "score 40.00 < key threshold 50.00; missing purchase_volume, target_segment (counted as 0)"
    )


def test_renormalise_policy_scales_up_the_weights_present() -> None:
    # growth 8 -> 80, segment pharma -> 100; present weights 0.5 + 0.2 = 0.7
    # 80 x 0.5/0.7 + 100 x 0.2/0.7 = 57.142857 + 28.571428 = 85.714285 -> 85.71
    decision = decide_tier(
        "A",
        {"growth_potential": 8, "target_segment": "pharma"},
        config=small_config(missing_policy="renormalise"),
        decided_at=NOW,
    )
    assert decision.score == 85.71
    assert decision.tier is AccountTier.STRATEGIC
    assert [c.effective_weight for c in decision.contributions] == pytest.approx([5 / 7, 0, 2 / 7])
    assert decision.reason.endswith("; missing purchase_volume (weights re-normalised)")


def test_everything_missing_scores_zero_under_both_policies() -> None:
    for policy in ("zero", "renormalise"):
        decision = decide_tier("A", {}, config=small_config(missing_policy=policy), decided_at=NOW)
        assert decision.score == 0.0
        assert decision.tier is AccountTier.STANDARD
        assert decision.missing == ("growth_potential", "purchase_volume", "target_segment")


def test_override_wins_and_keeps_the_scored_tier() -> None:
    override = manual_override(
        tier="strategic", reason=" Reference customer in a new market ", by="alice", at=NOW
    )
    decision = decide_tier(
        "A",
        {"growth_potential": 2, "purchase_volume": 1_000_000, "target_segment": "x"},
        config=small_config(),
        decided_at=NOW,
        override=override,
    )
    assert decision.tier is AccountTier.STRATEGIC
    assert decision.scored_tier is AccountTier.STANDARD
    assert decision.score == 25.0
    assert decision.override == override
    assert override.reason == "Reference customer in a new market"
    assert decision.reason == (
        "manual override to strategic by alice at 2026-11-27T12:00:00+00:00: Reference customer "
        "in a new market (model: standard, score 25.00 < key threshold 50.00)"
    )


@pytest.mark.parametrize(
    ("tier", "reason", "by", "message"),
    [
        ("key", None, "alice", "non-empty reason"),
        ("key", "   ", "alice", "non-empty reason"),
        ("key", "why", "", "who decided"),
        ("unknown", "why", "alice", "cannot override to tier 'unknown'"),
        ("gold", "why", "alice", "cannot override to tier 'gold'"),
    ],
)
def test_override_needs_reason_who_and_a_real_tier(
    tier: str, reason: str | None, by: str, message: str
) -> None:
    with pytest.raises(OverrideError, match=message):
        manual_override(tier=tier, reason=reason, by=by, at=NOW)


def test_shipped_config_worked_example_from_the_docs() -> None:
    account = Account(
        account_id="ACME-001",
        name="Acme Automotive GmbH",
        segment="automotive",
        annual_revenue_eur=1_000_000_000,
        purchase_volume_12m_eur=1_000_000,
        billing_volume_12m_eur=1_000_000,
        growth_potential=8,
        industry_weight=6,
        influence=7,
        current_profitability_pct=20,
        potential_profitability_pct=30,
    )
    config = load_tiering_config(DEFAULT_CONFIG_PATH)
    decision = decide_account_tier(account, config=config, decided_at=NOW)
    assert {c.criterion: c.contribution for c in decision.contributions} == pytest.approx(
        {
            "size": 7.5,
            "purchase_volume": 7.5,
            "billing_volume": 5.0,
            "growth_potential": 12.0,
            "industry_weight": 6.0,
            "influence": 7.0,
            "current_profitability": 5.0,
            "potential_profitability": 7.5,
            "target_segment": 10.0,
        }
    )
    assert decision.score == 67.5
    assert decision.tier is AccountTier.KEY
    assert decision.model_version == config.model_version
