"""Alerts raised on bad experiences, with a stable key and a lifecycle."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.accounts import AccountTier
from schemas.touchpoints import ContactPoint


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class Alert(BaseModel):
    """One state of an alert; ``alert_key`` (account, contact point, rule) ties its states."""

    model_config = ConfigDict(frozen=True)

    alert_key: str
    account_id: str
    account_name: str | None = None
    tier: AccountTier
    kam_owner: str | None = None
    kam_team: str | None = None
    contact_point: ContactPoint
    rule: str
    severity: Severity
    status: AlertStatus
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    event_ids: list[str] = Field(default_factory=list)
    started_at: AwareDatetime
    updated_at: AwareDatetime


def alert_key(account_id: str, contact_point: ContactPoint, rule: str) -> str:
    """The stable identity of an alert: the same problem always has the same key."""
    return f"{account_id}:{contact_point.value}:{rule}"
