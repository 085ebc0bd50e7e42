"""Account master data and the account tier the whole company serves it by."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AccountTier(StrEnum):
    STRATEGIC = "strategic"
    KEY = "key"
    STANDARD = "standard"
    UNKNOWN = "unknown"
    """Only on enriched events whose account is not (yet) in the master data."""


ALERTING_TIERS = frozenset({AccountTier.STRATEGIC, AccountTier.KEY})


class Account(BaseModel):
    """One customer account as published on the accounts topic (keyed by ``account_id``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1)
    tier: AccountTier = AccountTier.STANDARD
    tier_score: float | None = Field(default=None, ge=0, le=100)
    kam_owner: str | None = None
    kam_team: str | None = None
    segment: str | None = None
    parent_account_id: str | None = None
    updated_at: AwareDatetime | None = None
