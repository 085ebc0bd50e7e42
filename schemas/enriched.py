"""A validated touchpoint put in the context of its account."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.accounts import AccountTier
from schemas.touchpoints import Touchpoint


class AccountContext(BaseModel):
    """The account's status in force when the event was processed."""

    model_config = ConfigDict(frozen=True)

    tier: AccountTier
    name: str | None = None
    kam_owner: str | None = None
    kam_team: str | None = None
    tier_score: float | None = None


class EnrichedTouchpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: Touchpoint
    account: AccountContext
    bad_experience: str | None = None
    """Plain-words reason when this single event is a bad experience, else ``None``."""
    processed_at: AwareDatetime
