"""Reciprocity and tier review: does each account give back what its tier invests? Pure.

Per account over a horizon (default 90 days), the value it returns (billed amount and its
trend half over half, payment punctuality, order growth, CSAT, NPS) against what it costs to
serve (tickets, escalations, disputes, credit notes, failed deliveries, returns), as counted
by the ``account_reciprocity`` view (migration 0008). :func:`review` ranks the findings: strategic
accounts whose reciprocity is poor, then key and standard accounts that behave like
strategic ones. It changes nothing: a promotion is still a tier override with a reason.
See docs/tiering.md ("Reciprocity review") for the definitions and a worked example.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Literal

from schemas.accounts import AccountTier
from sinks.fairness.config import COSTS, SIGNALS, Cost, ReviewConfig, Signal

PER_BILLED_EUR = 100_000.0
"""Cost to serve is counted per this many EUR billed in the horizon."""
Kind = Literal["poor_reciprocity", "candidate"]
COST_WORDS: dict[Cost, tuple[str, str]] = {
    "ticket": ("ticket", "tickets"), "escalation": ("escalation", "escalations"),
    "dispute": ("dispute", "disputes"), "credit_note": ("credit note", "credit notes"),
    "failed_delivery": ("failed delivery", "failed deliveries"), "return": ("return", "returns"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountSignals:
    """One row of ``account_reciprocity``: what an account did in the horizon."""

    account_id: str
    name: str
    tier: AccountTier
    tier_score: float | None
    events: int
    billed_first_half: float = 0.0
    billed_second_half: float = 0.0
    ordered: float = 0.0
    payments: int = 0
    payments_on_time: int = 0
    orders_first_half: int = 0
    orders_second_half: int = 0
    csat_responses: int = 0
    csat_satisfied: int = 0
    nps_responses: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    costs: Mapping[Cost, int] = field(default_factory=dict)

    @property
    def billed(self) -> float:
        return self.billed_first_half + self.billed_second_half


def observed(signals: AccountSignals, horizon_days: int, min_observations: int = 1
             ) -> dict[Signal, float | None]:  # fmt: skip
    """Each value signal in its own unit; ``None`` when the horizon holds no evidence (fewer
    than ``min_observations`` payments, answers or first-half orders, or nothing billed).

    billing: EUR billed, annualised (x 365 / horizon); billing_trend and order_growth: second
    half over first half minus 1; punctuality: share of payments not late; csat: share of
    answers 4-5; nps: % promoters - % detractors.
    """
    s = signals

    def growth(first: float, second: float) -> float | None:
        return None if first == 0 else second / first - 1

    def share(part: int, whole: int) -> float | None:
        return None if whole < max(min_observations, 1) else part / whole

    nps = share(s.nps_promoters - s.nps_detractors, s.nps_responses)
    orders = s.orders_first_half >= min_observations
    return {
        "billing": s.billed * 365 / horizon_days if s.billed > 0 else None,
        "billing_trend": growth(s.billed_first_half, s.billed_second_half),
        "punctuality": share(s.payments_on_time, s.payments),
        "order_growth": growth(s.orders_first_half, s.orders_second_half) if orders else None,
        "csat": share(s.csat_satisfied, s.csat_responses),
        "nps": None if nps is None else 100 * nps,
    }


@dataclass(frozen=True, slots=True)
class Reciprocity:
    """An account's review numbers (scores 0-100, 2 decimals)."""

    signals: AccountSignals
    observed: Mapping[Signal, float | None]
    normalised: Mapping[Signal, float]
    """0-100 per observed signal."""
    value_score: float | None
    cost_units: float
    cost_per_100k: float | None
    """Cost units per 100 k EUR billed; ``None`` when nothing was billed."""
    cost_score: float
    score: float | None


def score(signals: AccountSignals, config: ReviewConfig) -> Reciprocity:
    """Value, cost to serve and reciprocity of one account (see :class:`ReviewConfig`)."""
    seen = observed(signals, config.horizon_days, config.min_observations)
    normalised = {
        name: round(config.scales[name].normalise(value), 2)
        for name, value in seen.items() if value is not None
    }  # fmt: skip
    weight = sum(config.weights[name] for name in normalised)
    value = (
        round(sum(config.weights[n] * v for n, v in normalised.items()) / weight, 2)
        if weight > 0 else None
    )  # fmt: skip
    units = sum(config.costs[c] * signals.costs.get(c, 0) for c in COSTS)
    per = units / (signals.billed / PER_BILLED_EUR) if signals.billed > 0 else None
    if per is None:
        cost = 100.0 if units > 0 else 0.0
    else:
        cost = round(min(per / config.cost_high, 1.0) * 100, 2)
    total = (
        None if value is None
        else round((1 - config.cost_weight) * value + config.cost_weight * (100 - cost), 2)
    )  # fmt: skip
    return Reciprocity(signals, seen, normalised, value, units, per, cost, total)


@dataclass(frozen=True, slots=True)
class ReviewFinding:
    kind: Kind
    reciprocity: Reciprocity
    reasons: tuple[str, ...]

    @property
    def account_id(self) -> str:
        return self.reciprocity.signals.account_id


def _words(name: Signal, value: float) -> str:
    if name == "billing":
        return f"billed {value:,.0f} EUR a year (annualised)"
    if name in ("billing_trend", "order_growth"):
        what = "billing" if name == "billing_trend" else "orders"
        return f"{what} {value * 100:+.0f}% half over half"
    if name == "punctuality":
        return f"{value * 100:.0f}% of payments on time"
    if name == "csat":
        return f"CSAT {value * 100:.0f}% satisfied"
    return f"NPS {value:+.0f}"


def _reasons(r: Reciprocity, kind: Kind) -> tuple[str, ...]:
    """The signals behind the finding: the weak ones (below 50) of a poor strategic account,
    the strong ones (75 or more) of a candidate; then the cost to serve."""
    picked = [
        name for name in SIGNALS if name in r.normalised
        and (r.normalised[name] < 50 if kind == "poor_reciprocity" else r.normalised[name] >= 75)
    ]  # fmt: skip
    reasons = []
    for name in picked:
        value = r.observed[name]
        assert value is not None
        reasons.append(f"{_words(name, value)} (score {r.normalised[name]:.2f})")
    counted = [f"{n} {COST_WORDS[c][n != 1]}" for c in COSTS if (n := r.signals.costs.get(c, 0))]
    per = "nothing billed" if r.cost_per_100k is None else (
        f"{r.cost_per_100k:.2f} units per 100k EUR billed")  # fmt: skip
    reasons.append(f"cost to serve {r.cost_score:.2f}/100: {per}"
                   + (f" ({', '.join(counted)})" if counted else ""))  # fmt: skip
    return tuple(reasons)


def review(signals: Iterable[AccountSignals], config: ReviewConfig) -> list[ReviewFinding]:
    """Ranked findings: strategic accounts with reciprocity below ``poor_below`` (lowest
    first), then key and standard accounts at or above ``candidate_at_or_above`` (highest
    first) that bill at least ``candidate_billing_share`` of the median strategic account;
    accounts with fewer than ``min_events`` events in the horizon are not judged."""
    judged = [score(a, config) for a in signals if a.events >= config.min_events]
    scored = [r for r in judged if r.score is not None]
    strategic = [r.signals.billed for r in scored if r.signals.tier is AccountTier.STRATEGIC]
    least = config.candidate_billing_share * median(strategic) if strategic else 0.0
    poor: list[ReviewFinding] = []
    candidates: list[ReviewFinding] = []
    for r in scored:
        tier, total = r.signals.tier, r.score
        assert total is not None
        if tier is AccountTier.STRATEGIC and total < config.poor_below:
            poor.append(ReviewFinding("poor_reciprocity", r, _reasons(r, "poor_reciprocity")))
        elif (tier in (AccountTier.KEY, AccountTier.STANDARD)
              and total >= config.candidate_at_or_above and r.signals.billed >= least):
            candidates.append(ReviewFinding("candidate", r, _reasons(r, "candidate")))
    poor.sort(key=lambda f: (f.reciprocity.score, f.account_id))
    candidates.sort(key=lambda f: (-(f.reciprocity.score or 0), f.account_id))
    return poor + candidates
