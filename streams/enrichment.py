"""Put a touchpoint in the context of its account's strategic status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import Account, AccountContext, AccountTier

UNKNOWN_ACCOUNT = AccountContext(tier=AccountTier.UNKNOWN)


def account_context(account: Account) -> AccountContext:
    """The part of the master data every enriched event carries."""
    return AccountContext(
        tier=account.tier,
        name=account.name,
        kam_owner=account.kam_owner,
        kam_team=account.kam_team,
        tier_score=account.tier_score,
    )


class AccountDirectory:
    """Account contexts by id, decoded once per account update rather than once per event.

    ``records`` is the raw store (a Faust table in the worker, a dict in tests) holding each
    account as its JSON-compatible dict; decoded contexts are cached until the record changes.
    """

    def __init__(self, *, records: Mapping[str, Any]) -> None:
        self._records = records
        self._cache: dict[str, tuple[Any, AccountContext]] = {}

    def context(self, account_id: str) -> AccountContext:
        record = self._records.get(account_id)
        if record is None:
            return UNKNOWN_ACCOUNT
        cached = self._cache.get(account_id)
        if cached is not None and cached[0] is record:
            return cached[1]
        context = account_context(Account.model_validate(record))
        self._cache[account_id] = (record, context)
        return context
