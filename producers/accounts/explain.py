"""Plain-text explanation of an account's tier (``kam accounts explain``). Pure formatting."""

from __future__ import annotations

from producers.tiering import TierDecision, TieringConfig
from schemas.account_status import AccountStatus, CriterionContribution
from schemas.accounts import Account

UNITS = {
    "size": "EUR",
    "purchase_volume": "EUR",
    "billing_volume": "EUR",
    "growth_potential": "/10",
    "industry_weight": "/10",
    "influence": "/10",
    "current_profitability": "%",
    "potential_profitability": "%",
}
ROW = "{:<25} {:>22} {:>10} {:>7} {:>8} {:>12}"


def explain(
    account: Account,
    decision: TierDecision,
    *,
    config: TieringConfig,
    status: AccountStatus | None,
) -> str:
    """Why ``account`` (as stored) has its tier, with ``decision`` recomputed by ``config``."""
    limits = config.thresholds
    missing_rule = {"zero": "count as 0", "renormalise": "re-normalise the other weights"}
    stored_score = "-" if account.tier_score is None else f"{account.tier_score:.2f}"
    lines = [
        f"Account {account.account_id}: {account.name}{_context(account)}",
        f"Tier: {account.tier.value}, score {stored_score} "
        f"(model {account.tier_model_version or 'unknown'})",
        f"Why: {decision.reason}",
        f"Thresholds: strategic >= {limits.strategic:.2f}, key >= {limits.key:.2f}, "
        f"standard below; missing criteria {missing_rule[config.missing_policy]}",
        "",
        ROW.format("criterion", "value", "normalised", "weight", "applied", "contribution"),
        *(_row(c) for c in decision.contributions),
        ROW.format(
            "total", "", "",
            f"{sum(c.weight for c in decision.contributions):.2f}",
            f"{sum(c.effective_weight for c in decision.contributions):.2f}",
            f"{decision.score:.2f}",
        ),
        "",
        _override(decision),
        _last_change(status),
    ]
    if (account.tier, account.tier_score) != (decision.tier, decision.score):
        lines.append(
            f"Note: the current configuration (model {config.model_version}) gives tier "
            f"{decision.tier.value}, score {decision.score:.2f}; the stored tier dates from "
            f"model {account.tier_model_version or 'unknown'}. Load the master data again "
            "to apply it."
        )
    return "\n".join(lines) + "\n"


def _context(account: Account) -> str:
    parts = [
        f"segment {account.segment}" if account.segment else "",
        f"KAM {account.kam_owner}" if account.kam_owner else "",
        f"team {account.kam_team}" if account.kam_team else "",
        f"parent {account.parent_account_id}" if account.parent_account_id else "",
    ]
    shown = [part for part in parts if part]
    return f" ({', '.join(shown)})" if shown else ""


def _row(contribution: CriterionContribution) -> str:
    return ROW.format(
        contribution.criterion,
        _value(contribution),
        "-" if contribution.normalised is None else f"{contribution.normalised:.2f}",
        f"{contribution.weight:.2f}",
        f"{contribution.effective_weight:.2f}",
        f"{contribution.contribution:.2f}",
    )


def _value(contribution: CriterionContribution) -> str:
    value = contribution.value
    if value is None:
        return "missing"
    if isinstance(value, str):
        return value
    unit = UNITS.get(contribution.criterion, "")
    if unit == "EUR":
        return f"{value:,.0f} EUR"
    return f"{value:g}{unit}"


def _override(decision: TierDecision) -> str:
    override = decision.override
    if override is None:
        return "Override: none"
    return (
        f"Override: {override.tier.value} by {override.by} at {override.at.isoformat()}: "
        f"{override.reason} (the score alone gives {decision.scored_tier.value})"
    )


def _last_change(status: AccountStatus | None) -> str:
    if status is None:
        return "Last tier change: none recorded"
    before = status.previous_tier.value if status.previous_tier else "(none)"
    return f"Last tier change: {before} -> {status.tier.value} at {status.changed_at.isoformat()}"
