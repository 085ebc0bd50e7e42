"""What a load publishes, decided without I/O from the rows and the current state.

* An account record is published when it is new or its content changed (``updated_at``
  aside), so loading the same file twice publishes nothing the second time.
* An :class:`AccountStatus` is published when the decided tier differs from the tier of the
  account's latest status record (or there is none yet: the first decision is a change from
  nothing, ``previous_tier=None``).
* An unchanged override keeps the time it was first recorded.

The two topics are compared independently, so a load interrupted between them is repaired by
the next load of the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from producers.accounts.rows import AccountRow
from producers.tiering import TierDecision, TieringConfig, criteria_values, decide_tier
from schemas.account_status import AccountStatus
from schemas.accounts import Account, AccountTier, TierOverride


@dataclass(frozen=True, slots=True)
class CurrentState:
    """Latest record per account id on the accounts and account-status topics."""

    accounts: Mapping[str, Account] = field(default_factory=dict)
    statuses: Mapping[str, AccountStatus] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    decisions: tuple[TierDecision, ...]
    """One per row, in file order."""
    accounts: tuple[Account, ...]
    """New or changed accounts, with tier and score filled in."""
    statuses: tuple[AccountStatus, ...]
    """Tier changes."""

    @property
    def unchanged(self) -> int:
        return len(self.decisions) - len(self.accounts)


def plan_load(
    rows: Sequence[AccountRow], *, config: TieringConfig, state: CurrentState, now: datetime
) -> LoadPlan:
    """Decide every row's tier and what must be published."""
    decisions: list[TierDecision] = []
    accounts: list[Account] = []
    statuses: list[AccountStatus] = []
    for row in rows:
        account_id = row.account.account_id
        previous = state.accounts.get(account_id)
        override = _keep_override_time(row.override, previous)
        decision = decide_tier(
            account_id,
            criteria_values(row.account),
            config=config,
            decided_at=now,
            override=override,
        )
        decisions.append(decision)
        account = decided_account(row.account, decision, updated_at=now)
        if previous is None or _content(previous) != _content(account):
            accounts.append(account)
        last_status = state.statuses.get(account_id)
        if last_status is None or last_status.tier != decision.tier:
            statuses.append(
                status_of(decision, previous_tier=last_status.tier if last_status else None)
            )
    return LoadPlan(decisions=tuple(decisions), accounts=tuple(accounts), statuses=tuple(statuses))


def decided_account(account: Account, decision: TierDecision, *, updated_at: datetime) -> Account:
    """The account as published: master data plus the decision's tier, score and override."""
    return account.model_copy(
        update={
            "tier": decision.tier,
            "tier_score": decision.score,
            "tier_override": decision.override,
            "tier_model_version": decision.model_version,
            "updated_at": updated_at,
        }
    )


def status_of(decision: TierDecision, *, previous_tier: AccountTier | None) -> AccountStatus:
    """The status record of a tier change."""
    return AccountStatus(
        account_id=decision.account_id,
        tier=decision.tier,
        previous_tier=previous_tier,
        score=decision.score,
        scored_tier=decision.scored_tier,
        contributions=decision.contributions,
        missing=decision.missing,
        reason=decision.reason,
        override=decision.override,
        model_version=decision.model_version,
        changed_at=decision.decided_at,
    )


def _keep_override_time(
    override: TierOverride | None, previous: Account | None
) -> TierOverride | None:
    earlier = previous.tier_override if previous else None
    if override is None or earlier is None:
        return override
    same = override.model_copy(update={"at": earlier.at}) == earlier
    return earlier if same else override


def _content(account: Account) -> dict[str, object]:
    return account.model_dump(exclude={"updated_at"})
