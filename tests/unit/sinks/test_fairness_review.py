"""The reciprocity review core: exact values of the worked example of docs/tiering.md."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.tiering import decide_account_tier, load_tiering_config
from schemas import Account, AccountTier
from sinks.fairness import AccountSignals, ReviewConfig, review, score
from sinks.fairness.render import render_review

END = datetime(2026, 12, 1, tzinfo=UTC)
CONFIG = ReviewConfig()
DOC = Path(__file__).resolve().parents[3] / "docs" / "tiering.md"
ORION = AccountSignals(
    account_id="ORION-01", name="Orion Retail", tier=AccountTier.STRATEGIC, tier_score=81.11,
    events=120, billed_first_half=600_000.0, billed_second_half=400_000.0, ordered=900_000.0,
    payments=10, payments_on_time=4, orders_first_half=10, orders_second_half=8,
    csat_responses=5, csat_satisfied=2, nps_responses=8, nps_promoters=2, nps_detractors=4,
    costs={"ticket": 12, "escalation": 3, "dispute": 2, "credit_note": 1, "failed_delivery": 1,
           "return": 2},
)  # fmt: skip
NOVA = AccountSignals(
    account_id="NOVA-07", name="Nova Hotels", tier=AccountTier.KEY, tier_score=54.64, events=90,
    billed_first_half=400_000.0, billed_second_half=600_000.0, ordered=1_100_000.0,
    payments=12, payments_on_time=11, orders_first_half=8, orders_second_half=12,
    csat_responses=6, csat_satisfied=6, costs={"ticket": 4, "failed_delivery": 1},
)  # fmt: skip
ACCOUNTS = [
    Account(account_id="ORION-01", name="Orion Retail", segment="food-retail",
            annual_revenue_eur=5e9, purchase_volume_12m_eur=6e6, billing_volume_12m_eur=6e6,
            growth_potential=9, industry_weight=8, influence=8, current_profitability_pct=25,
            potential_profitability_pct=35, updated_at=END),
    Account(account_id="NOVA-07", name="Nova Hotels", segment="hospitality",
            annual_revenue_eur=8e8, purchase_volume_12m_eur=2e6, billing_volume_12m_eur=2e6,
            growth_potential=6, industry_weight=5, influence=6, current_profitability_pct=22,
            potential_profitability_pct=30, updated_at=END),
]  # fmt: skip


def test_the_strategic_example_scores_exactly_as_worked_by_hand() -> None:
    r = score(ORION, CONFIG)
    assert r.observed["billing"] == pytest.approx(1_000_000 * 365 / 90, rel=1e-15)
    assert r.normalised == {
        "billing": 65.2,  # (log10(4,055,555.56) - 4) / (8 - 4)
        "billing_trend": 16.67,  # 400 k / 600 k - 1 = -33.3%, on -50% .. +50%
        "punctuality": 40.0,  # 4 of 10 payments on time
        "order_growth": 30.0,  # 8 / 10 - 1 = -20%
        "csat": 0.0,  # 2 of 5 satisfied = 40%, below the 50% floor
        "nps": 37.5,  # (2 - 4) / 8 = -25
    }
    # 0.3 x 65.2 + 0.15 x 16.67 + 0.2 x 40 + 0.15 x 30 + 0.1 x 0 + 0.1 x 37.5 = 38.3105
    assert r.value_score == 38.31
    # 12 x 1 + 3 x 3 + 2 x 3 + 1 x 2 + 1 x 2 + 2 x 2 = 35 units over 10 x 100 k EUR billed;
    # 3.5 of the 5 units per 100 k EUR that score 100
    assert (r.cost_units, r.cost_per_100k, r.cost_score) == (35.0, 3.5, 70.0)
    assert r.score == 34.99  # 0.6 x 38.31 + 0.4 x (100 - 70) = 34.986


def test_the_candidate_example_renormalises_over_the_signals_it_has() -> None:
    r = score(NOVA, CONFIG)
    assert r.observed["nps"] is None and "nps" not in r.normalised
    assert r.normalised == {"billing": 65.2, "billing_trend": 100.0, "punctuality": 91.67,
                            "order_growth": 100.0, "csat": 100.0}  # fmt: skip
    # (0.3 x 65.2 + 0.15 x 100 + 0.2 x 91.67 + 0.15 x 100 + 0.1 x 100) / 0.9 = 86.5489
    assert r.value_score == 86.55
    assert (r.cost_units, r.cost_per_100k, r.cost_score) == (6.0, 0.6, 12.0)
    assert r.score == 87.13  # 0.6 x 86.55 + 0.4 x 88


def test_the_review_ranks_poor_strategic_accounts_first_then_candidates() -> None:
    weaker = replace(ORION, account_id="ORION-02", payments_on_time=0)
    quiet = replace(NOVA, account_id="NOVA-08", events=CONFIG.min_events - 1)
    healthy = replace(ORION, account_id="ORION-03", payments_on_time=10, csat_satisfied=5,
                      costs={})  # fmt: skip
    standard = replace(NOVA, account_id="STD-01", tier=AccountTier.STANDARD, payments_on_time=12)
    small = replace(NOVA, account_id="STD-02", tier=AccountTier.STANDARD,
                    billed_first_half=300_000.0, billed_second_half=450_000.0, costs={})
    findings = review([NOVA, ORION, quiet, healthy, weaker, standard, small], CONFIG)
    assert [(f.kind, f.account_id, f.reciprocity.score) for f in findings] == [
        ("poor_reciprocity", "ORION-02", 30.19),  # value 38.31 - 0.2 x 40 = 30.31
        ("poor_reciprocity", "ORION-01", 34.99),
        ("candidate", "STD-01", 88.24),  # value (0.3 x 65.2 + 15 + 20 + 15 + 10) / 0.9 = 88.4
        ("candidate", "NOVA-07", 87.13),
    ]
    assert score(healthy, CONFIG).score == 76.19  # strategic, not poor: no finding
    # 91.31 (value 85.51, no cost), but 750 k EUR billed: less than the strategic median 1 M
    assert score(small, CONFIG).score == 91.31
    assert findings[1].reasons == (
        "billing -33% half over half (score 16.67)",
        "40% of payments on time (score 40.00)",
        "orders -20% half over half (score 30.00)",
        "CSAT 40% satisfied (score 0.00)",
        "NPS -25 (score 37.50)",
        "cost to serve 70.00/100: 3.50 units per 100k EUR billed (12 tickets, 3 escalations,"
        " 2 disputes, 1 credit note, 1 failed delivery, 2 returns)",
    )


def test_cost_without_billing_is_the_costliest_and_no_signal_is_no_score() -> None:
    unbilled = AccountSignals(account_id="X", name="X", tier=AccountTier.KEY, tier_score=None,
                              events=30, payments=5, payments_on_time=5, costs={"ticket": 1})
    r = score(unbilled, CONFIG)
    assert (r.value_score, r.cost_per_100k, r.cost_score, r.score) == (100.0, None, 100.0, 60.0)
    silent = AccountSignals(account_id="Y", name="Y", tier=AccountTier.KEY, tier_score=None,
                            events=30, payments=2, payments_on_time=2, csat_responses=2,
                            csat_satisfied=2, orders_first_half=2, orders_second_half=4)
    assert score(silent, CONFIG).score is None
    assert review([silent], CONFIG) == []


def rendered() -> str:
    tiering = load_tiering_config(Path("config/tiering.toml"))
    decisions = {a.account_id: decide_account_tier(a, config=tiering, decided_at=END)
                 for a in ACCOUNTS}  # fmt: skip
    assert [(d.tier, d.score) for d in decisions.values()] == [
        (AccountTier.STRATEGIC, 81.11), (AccountTier.KEY, 54.64)]  # fmt: skip
    findings = review([NOVA, ORION], CONFIG)  # the strategic median: Orion's 1 M EUR
    return render_review(findings, config=CONFIG, end=END, decisions=decisions, accounts=2)


def test_the_worked_example_of_the_docs_is_what_the_review_prints() -> None:
    section = DOC.read_text().split("## Reciprocity review", 1)[1].split("\n## ", 1)[0]
    [printed] = re.findall(r"```text\n(Tier review over.*?)```", section, flags=re.S)
    assert printed == rendered()
    r = score(ORION, CONFIG)
    for name, value in r.normalised.items():
        assert re.search(rf"^\| {name} \|.*\| {value:.2f} \| {CONFIG.weights[name]:.2f} \|$",
                         section, flags=re.M), name  # fmt: skip
    for number in (f"{r.value_score:.2f}", f"{r.cost_units:.0f} units", f"{r.cost_score:.2f}",
                   f"**{r.score:.2f}**"):  # fmt: skip
        assert number in section


def test_the_review_says_when_master_data_or_criteria_are_missing() -> None:
    tiering = load_tiering_config(Path("config/tiering.toml"))
    bare = Account(account_id="NOVA-07", name="Nova Hotels", updated_at=END)
    decisions = {"NOVA-07": decide_account_tier(bare, config=tiering, decided_at=END)}
    text = render_review(review([NOVA, ORION], CONFIG), config=CONFIG, end=END,
                         decisions=decisions, accounts=2)  # fmt: skip
    assert "\n   declared: no master data on the accounts topic\n" in text  # ORION-01
    assert "\n   declared: no billing, purchase or growth criteria in the master data\n" in text
