"""Account directory: per-account version history and the tier in force at an event's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas import Account, AccountContext, AccountTier
from streams.enrichment import (
    HISTORY_LENGTH,
    UNKNOWN_ACCOUNT,
    AccountDirectory,
    StoredVersion,
    account_context,
    add_version,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def version(
    tier: AccountTier, *, updated: float | None, name: str = "Acme Corp", owner: str = "ana"
) -> Account:
    return Account(
        account_id="acme",
        name=name,
        tier=tier,
        kam_owner=owner,
        updated_at=None if updated is None else day(updated),
    )


def history(*versions: Account) -> bytes:
    raw: bytes | None = None
    for account in versions:
        raw = add_version(raw, account)
    assert raw is not None
    return raw


def stored(raw: bytes) -> list[tuple[AccountTier, datetime | None]]:
    """(tier, updated_at) of every stored version, oldest first."""
    return [(v.tier, v.updated_at) for v in map(StoredVersion.model_validate, orjson.loads(raw))]


STANDARD, STRATEGIC, KEY = AccountTier.STANDARD, AccountTier.STRATEGIC, AccountTier.KEY


def test_versions_are_kept_oldest_first_whatever_the_arrival_order() -> None:
    raw = history(
        version(KEY, updated=3), version(STANDARD, updated=1), version(STRATEGIC, updated=2)
    )
    assert stored(raw) == [(STANDARD, day(1)), (STRATEGIC, day(2)), (KEY, day(3))]


def test_redelivering_a_version_changes_nothing() -> None:
    raw = history(version(STANDARD, updated=1), version(STRATEGIC, updated=2))
    assert add_version(raw, version(STRATEGIC, updated=2)) == raw
    assert add_version(raw, version(STANDARD, updated=1)) == raw


def test_a_corrected_version_with_the_same_time_replaces_the_stored_one() -> None:
    raw = history(version(STANDARD, updated=1), version(STRATEGIC, updated=2))
    corrected = add_version(raw, version(KEY, updated=2, owner="bo"))
    assert stored(corrected) == [(STANDARD, day(1)), (KEY, day(2))]
    assert AccountDirectory(records={"acme": corrected}).context("acme").kam_owner == "bo"


def test_history_keeps_the_latest_versions_only() -> None:
    assert HISTORY_LENGTH == 8
    raw = history(*(version(STANDARD, updated=n) for n in range(10)))
    assert [updated for _, updated in stored(raw)] == [day(n) for n in range(2, 10)]
    # A version older than the whole (full) history is sorted first and trimmed right away.
    assert add_version(raw, version(KEY, updated=0.5)) == raw


def test_an_undated_version_takes_effect_after_the_versions_stored_before_it() -> None:
    raw = history(version(STRATEGIC, updated=None), version(STANDARD, updated=5))
    assert stored(raw) == [(STRATEGIC, None), (STANDARD, day(5))]
    later = add_version(raw, version(KEY, updated=None))
    assert stored(later) == [(STANDARD, day(5)), (KEY, None)]


def test_account_context_carries_the_fields_every_enriched_event_needs() -> None:
    account = Account(
        account_id="acme",
        name="Acme Corp",
        tier=STRATEGIC,
        tier_score=82.5,
        kam_owner="ana",
        kam_team="iberia",
        segment="retail",
    )
    assert account_context(account) == AccountContext(
        tier=STRATEGIC, name="Acme Corp", kam_owner="ana", kam_team="iberia", tier_score=82.5
    )


def test_unknown_account_gets_the_unknown_tier() -> None:
    directory = AccountDirectory(records={})
    assert directory.context("initech") == UNKNOWN_ACCOUNT == AccountContext(tier="unknown")
    assert directory.context("initech", at=day(3)) == UNKNOWN_ACCOUNT


@pytest.mark.parametrize(
    ("at", "tier"),
    [
        (None, KEY),  # no event time: the latest version
        (day(0), STANDARD),  # before the first version: the earliest
        (day(1), STANDARD),  # a version is in force from its updated_at on
        (day(5) - timedelta(microseconds=1), STANDARD),
        (day(5), STRATEGIC),
        (day(8.5), STRATEGIC),
        (day(9), KEY),
        (day(400), KEY),
    ],
)
def test_context_is_the_version_in_force_at_the_event_time(
    at: datetime | None, tier: AccountTier
) -> None:
    raw = history(
        version(KEY, updated=9, name="Acme Holding"),
        version(STANDARD, updated=1),
        version(STRATEGIC, updated=5),
    )
    context = AccountDirectory(records={"acme": raw}).context("acme", at=at)
    assert context.tier == tier
    assert context.name == ("Acme Holding" if tier == KEY else "Acme Corp")


def test_a_changed_history_replaces_the_cached_context() -> None:
    records: dict[str, bytes] = {}
    directory = AccountDirectory(records=records)
    records["acme"] = history(version(STANDARD, updated=1))
    assert directory.context("acme").tier == STANDARD
    assert directory.context("acme").tier == STANDARD  # served from the cache
    records["acme"] = add_version(records["acme"], version(STRATEGIC, updated=2, owner="bo"))
    assert (directory.context("acme").tier, directory.context("acme").kam_owner) == (
        STRATEGIC,
        "bo",
    )
    assert directory.context("acme", at=day(1.5)).tier == STANDARD
    del records["acme"]  # tombstone on the accounts topic
    assert directory.context("acme") == UNKNOWN_ACCOUNT


def test_a_full_cache_starts_over_without_serving_stale_contexts() -> None:
    records = {
        "acme": history(version(STRATEGIC, updated=1)),
        "globex": add_version(None, Account(account_id="globex", name="Globex", tier=KEY)),
    }
    directory = AccountDirectory(records=records, cache_size=1)
    for _ in range(2):
        assert directory.context("acme").name == "Acme Corp"
        assert directory.context("globex").name == "Globex"
    records["acme"] = add_version(records["acme"], version(KEY, updated=2, name="Acme Holding"))
    assert directory.context("acme").name == "Acme Holding"


def test_a_dated_version_after_an_undated_one_takes_effect() -> None:
    raw = history(version(STRATEGIC, updated=None), version(STANDARD, updated=5))
    directory = AccountDirectory(records={"acme": raw})
    assert directory.context("acme", at=day(6)).tier == STANDARD


def test_redelivering_an_undated_version_changes_nothing() -> None:
    raw = history(version(STANDARD, updated=1), version(STRATEGIC, updated=None))
    assert add_version(raw, version(STRATEGIC, updated=None)) == raw


def test_a_stored_version_keeps_only_the_context_and_its_time() -> None:
    account = Account(
        account_id="acme", name="Acme Corp", tier=STRATEGIC, kam_owner="ana", segment="retail",
        annual_revenue_eur=5e8, growth_potential=7, updated_at=day(1),
    )  # fmt: skip
    assert orjson.loads(add_version(None, account)) == [
        {"tier": "strategic", "name": "Acme Corp", "kam_owner": "ana",
         "updated_at": "2026-01-02T00:00:00Z"}
    ]  # fmt: skip


def test_a_history_of_whole_accounts_reads_the_same_and_shrinks_on_the_next_version() -> None:
    """Histories written before versions were stored compactly (a changelog recovered by a
    new worker) give the same contexts; the next version rewrites them compactly."""
    old = [version(STANDARD, updated=1), version(STRATEGIC, updated=5, owner="bo")]
    whole = orjson.dumps([v.model_dump(mode="json") for v in old])
    compact = history(*old)
    assert len(compact) < len(whole) / 2
    for at in (None, day(0), day(2), day(6)):
        expected = AccountDirectory(records={"acme": compact}).context("acme", at=at)
        assert AccountDirectory(records={"acme": whole}).context("acme", at=at) == expected
    assert add_version(whole, version(KEY, updated=9)) == history(*old, version(KEY, updated=9))
