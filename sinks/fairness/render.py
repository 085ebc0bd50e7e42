"""``kam accounts review`` in words: each finding with the observed behaviour beside the
declared tiering criteria (the master data and the tiering model's decision). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from producers.tiering import TierDecision
from sinks.fairness.config import ReviewConfig, Signal
from sinks.fairness.review import ReviewFinding

TITLES = {
    "poor_reciprocity": "strategic account with poor reciprocity",
    "candidate": "behaves like a strategic account (candidate)",
}
DECLARED = {
    "billing_volume": ("billing", "EUR/12 months"),
    "purchase_volume": ("purchases", "EUR/12 months"),
    "growth_potential": ("growth potential", "/10"),
}
"""The declared criteria the observed signals speak to, and how to print them."""


def _declared(decision: TierDecision | None) -> str:
    if decision is None:
        return "declared: no master data on the accounts topic"
    parts = []
    for contribution in decision.contributions:
        if contribution.criterion in DECLARED and contribution.value is not None:
            label, unit = DECLARED[contribution.criterion]
            value = contribution.value
            if isinstance(value, str):
                parts.append(f"{label} {value}")
            else:
                shown = f"{value:,.0f} " if unit.startswith("EUR") else f"{value:g}"
                parts.append(f"{label} {shown}{unit}")
    if not parts:
        return "declared: no billing, purchase or growth criteria in the master data"
    return f"declared (tiering model score {decision.score:.2f}): " + ", ".join(parts)


def _observed(finding: ReviewFinding, horizon_days: int) -> str:
    r = finding.reciprocity
    s = r.signals
    year = 365 / horizon_days
    parts = [f"billing {s.billed * year:,.0f} EUR/year", f"orders {s.ordered * year:,.0f} EUR/year"]
    trends: tuple[tuple[Signal, str], ...] = (("billing_trend", "billing"),
                                              ("order_growth", "orders"))
    for name, label in trends:
        value = r.observed[name]
        if value is not None:
            parts.append(f"{label} {value * 100:+.0f}% half over half")
    return f"observed ({horizon_days} d, annualised): " + ", ".join(parts)


def render_review(
    findings: Sequence[ReviewFinding],
    *,
    config: ReviewConfig,
    end: datetime,
    decisions: Mapping[str, TierDecision],
    accounts: int,
) -> str:
    """The review as text; the last line says that nothing was changed."""
    lines = [
        f"Tier review over the {config.horizon_days} days to {end:%Y-%m-%d %H:%M} UTC: "
        f"{accounts} account(s) with at least {config.min_events} events, "
        f"{len(findings)} finding(s)."
    ]
    weight = config.cost_weight
    for rank, finding in enumerate(findings, start=1):
        r, s = finding.reciprocity, finding.reciprocity.signals
        score = "n/a" if s.tier_score is None else f"{s.tier_score:.2f}"
        lines += [
            f"{rank}. {s.account_id} {s.name} ({s.tier.value}, tier score {score}): "
            f"{TITLES[finding.kind]}",
            f"   reciprocity {r.score:.2f} = {1 - weight:g} x value {r.value_score:.2f}"
            f" + {weight:g} x (100 - cost to serve {r.cost_score:.2f})",
            f"   {_declared(decisions.get(s.account_id))}",
            f"   {_observed(finding, config.horizon_days)}",
            *(f"   - {reason}" for reason in finding.reasons),
        ]
    lines.append(
        "Nothing was changed: a tier changes only by the tiering model or by an override with"
        " a reason (kam accounts load with override_tier, override_reason, override_by)."
    )
    return "\n".join(lines) + "\n"
