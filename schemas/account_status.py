"""Account status: the record of every account tier change, with the decision behind it."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.accounts import AccountTier, TierOverride


class CriterionContribution(BaseModel):
    """One criterion's part in an account's attractiveness score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    criterion: str
    value: float | str | None
    """The raw master-data value (EUR, percent, rating or segment); ``None`` when missing."""
    normalised: float | None = Field(ge=0, le=100)
    """The value on the 0-100 scale of the model; ``None`` when missing."""
    weight: float = Field(ge=0, le=1)
    """The configured weight."""
    effective_weight: float = Field(ge=0, le=1)
    """The weight applied (differs from ``weight`` only when missing criteria re-normalise)."""
    contribution: float = Field(ge=0, le=100)
    """``effective_weight x normalised`` (0 when missing): points of the 0-100 score."""


class AccountStatus(BaseModel):
    """Published on the compacted account-status topic (key ``account_id``) on a tier change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(min_length=1, max_length=128)
    tier: AccountTier
    previous_tier: AccountTier | None
    """``None`` on the account's first tier decision."""
    score: float = Field(ge=0, le=100)
    scored_tier: AccountTier
    """The tier the scoring model gave; equals ``tier`` unless overridden."""
    contributions: tuple[CriterionContribution, ...]
    missing: tuple[str, ...] = ()
    reason: str
    override: TierOverride | None = None
    model_version: str
    changed_at: AwareDatetime
