"""Snoozes: silence an account (or one rule of it) until a time, with a reason.

Snooze records live on a compacted topic keyed by :func:`snooze_key`; a newer record for the
same key replaces the older one, a tombstone (or an ``until`` in the past) lifts it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.alerts import Alert

ANY_RULE = "*"


def snooze_key(account_id: str, rule: str | None) -> str:
    """Kafka key of a snooze: one per account, or per account and rule."""
    return f"{account_id}:{rule or ANY_RULE}"


class Snooze(BaseModel):
    """A snooze record as published on the snoozes topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(min_length=1, max_length=128)
    rule: str | None = Field(default=None, min_length=1)
    until: AwareDatetime
    reason: str = Field(min_length=1)
    created_by: str | None = None
    created_at: AwareDatetime

    @property
    def key(self) -> str:
        return snooze_key(self.account_id, self.rule)


class SnoozeBook:
    """The snoozes in force, as read from the snoozes topic."""

    def __init__(self) -> None:
        self._by_key: dict[str, Snooze] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def snoozes(self) -> list[Snooze]:
        """Every snooze record in the book (some may have ended)."""
        return list(self._by_key.values())

    def apply(self, key: str, snooze: Snooze | None) -> None:
        """Take one record of the topic; ``None`` (a tombstone) lifts the snooze."""
        if snooze is None:
            self._by_key.pop(key, None)
        else:
            self._by_key[key] = snooze

    def active(self, alert: Alert, now: datetime) -> Snooze | None:
        """The snooze silencing ``alert`` at ``now`` (account-wide first), if any."""
        for key in (snooze_key(alert.account_id, None), snooze_key(alert.account_id, alert.rule)):
            snooze = self._by_key.get(key)
            if snooze is not None and snooze.until > now:
                return snooze
        return None
