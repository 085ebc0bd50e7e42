"""Put a touchpoint in the context of its account's strategic status at the event's time."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime

import orjson
from pydantic import AwareDatetime, ConfigDict

from schemas import Account, AccountContext, AccountTier
from streams.state import compact_json

UNKNOWN_ACCOUNT = AccountContext(tier=AccountTier.UNKNOWN)
EARLIEST = datetime.min.replace(tzinfo=UTC)
HISTORY_LENGTH = 8
"""Account versions kept per account, so late events get the tier in force when they happened."""


class StoredVersion(AccountContext):
    """One version of an account as the worker stores it: the context enriched events carry
    and when it took effect, nothing else of the master data.

    Stored without the ``None`` fields, about 150 bytes instead of the 500 of a whole
    :class:`Account` (the accounts table holds one history per account, in memory). Histories
    written with whole accounts read the same: the other fields are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    updated_at: AwareDatetime | None = None

    @classmethod
    def of(cls, account: Account) -> StoredVersion:
        return cls(**account_context(account).model_dump(), updated_at=account.updated_at)

    def context(self) -> AccountContext:
        return AccountContext.model_construct(
            **{name: getattr(self, name) for name in AccountContext.model_fields}
        )


def account_context(account: Account) -> AccountContext:
    """The part of the master data every enriched event carries."""
    return AccountContext(
        tier=account.tier,
        name=account.name,
        kam_owner=account.kam_owner,
        kam_team=account.kam_team,
        tier_score=account.tier_score,
    )


def _versions(history: bytes) -> list[StoredVersion]:
    return [StoredVersion.model_validate(v) for v in orjson.loads(history)]


def _effective_times(versions: list[StoredVersion]) -> list[datetime]:
    """When each stored version took effect: its ``updated_at``, or, for a version published
    without one, the time of the version before it (it arrived after that one)."""
    times, current = [], EARLIEST
    for version in versions:
        current = version.updated_at or current
        times.append(current)
    return times


def add_version(history: bytes | None, account: Account) -> bytes:
    """The account's stored history (JSON list, in effect order) with ``account`` added.

    A dated version goes in at its ``updated_at`` (replacing one with the same time, so a
    redelivery changes nothing); an undated one replaces any stored undated one and takes
    effect after everything stored. Only the newest :data:`HISTORY_LENGTH` versions are kept.
    """
    versions = _versions(history) if history else []
    versions = [v for v in versions if v.updated_at != account.updated_at]
    version = StoredVersion.of(account)
    if account.updated_at is None:
        versions.append(version)
    else:
        times = _effective_times(versions)
        position = sum(1 for t in times if t <= account.updated_at)
        versions.insert(position, version)
    kept = versions[-HISTORY_LENGTH:]
    return compact_json([v.model_dump(mode="json", exclude_none=True) for v in kept])


class AccountDirectory:
    """Account contexts by id, decoded from the account table only when an account changes.

    ``records`` maps account id to its history as written by :func:`add_version`. The latest
    version's context is cached (and dropped when the stored history changes); an event older
    than the latest version gets the version in force at its time.
    """

    def __init__(self, *, records: Mapping[str, bytes], cache_size: int = 10_000) -> None:
        self._records = records
        self._cache: MutableMapping[str, tuple[bytes, list[tuple[datetime, AccountContext]]]]
        self._cache = {}
        self._cache_size = cache_size

    def context(self, account_id: str, *, at: datetime | None = None) -> AccountContext:
        raw = self._records.get(account_id)
        if raw is None:
            return UNKNOWN_ACCOUNT
        cached = self._cache.get(account_id)
        if cached is None or cached[0] is not raw:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            versions = _versions(raw)
            times = _effective_times(versions)
            cached = (raw, [(t, v.context()) for t, v in zip(times, versions, strict=True)])
            self._cache[account_id] = cached
        timeline = cached[1]
        if at is not None:
            for effective, context in reversed(timeline):
                if effective <= at:
                    return context
            return timeline[0][1]
        return timeline[-1][1]
