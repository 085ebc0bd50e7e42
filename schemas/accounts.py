"""Account master data and the account tier the whole company serves it by.

Units of the tiering criteria (see ``docs/tiering.md``): money in EUR, margins in percent,
ratings 0-10 given by the cross-functional account team (0 = none, 10 = highest).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.wire import MAX_ID_CHARS, MAX_TEXT_CHARS


class AccountTier(StrEnum):
    STRATEGIC = "strategic"
    KEY = "key"
    STANDARD = "standard"
    UNKNOWN = "unknown"
    """Only on enriched events whose account is not (yet) in the master data."""


ALERTING_TIERS = frozenset({AccountTier.STRATEGIC, AccountTier.KEY})

Rating = Annotated[float, Field(ge=0, le=10)]
MoneyEur = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]
"""Finite and bounded: ``Infinity`` or ``1e309`` revenue is refused, not scored."""
MarginPct = Annotated[float, Field(ge=-100, le=100)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]


class TierOverride(BaseModel):
    """A manual tier decision that wins over the scoring model; who, when and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: AccountTier
    reason: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    by: Name
    at: AwareDatetime


class Account(BaseModel):
    """One customer account as published on the accounts topic (keyed by ``account_id``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: Name
    name: str = Field(min_length=1, max_length=256)
    tier: AccountTier = AccountTier.STANDARD
    tier_score: float | None = Field(default=None, ge=0, le=100)
    kam_owner: Name | None = None
    kam_team: Name | None = None
    segment: Name | None = None
    parent_account_id: Name | None = None
    updated_at: AwareDatetime | None = None

    annual_revenue_eur: MoneyEur | None = None
    """Size: the customer's own annual revenue."""
    purchase_volume_12m_eur: MoneyEur | None = None
    """Value the customer ordered from us over the last 12 months."""
    billing_volume_12m_eur: MoneyEur | None = None
    """Value we invoiced the customer over the last 12 months."""
    growth_potential: Rating | None = None
    """Expected growth of our business with the customer over 3 years, rating 0-10."""
    industry_weight: Rating | None = None
    """Weight of the customer in its industry (prestige, reference value), rating 0-10."""
    influence: Rating | None = None
    """Influence on other companies or sectors, rating 0-10."""
    current_profitability_pct: MarginPct | None = None
    """Our gross margin on the customer over the last 12 months, percent."""
    potential_profitability_pct: MarginPct | None = None
    """Gross margin we expect from the customer on a 3-year horizon, percent."""
    tier_override: TierOverride | None = None
    """Manual override in force, if any (then ``tier`` is the override's tier)."""
    tier_model_version: Name | None = None
    """Version of the tiering model configuration that set ``tier`` and ``tier_score``."""
