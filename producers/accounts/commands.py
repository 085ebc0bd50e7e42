"""``kam accounts load FILE`` and ``kam accounts explain ID``: thin I/O around the pure core.

Exit codes: 0 success; 1 some rows rejected (the valid rows are still published) or the account
is unknown; 2 nothing done (unreadable file or configuration, Kafka failure).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kam.kafka_admin import TopicError
from kam.settings import KafkaSettings, TopicSettings
from producers.accounts.exceptions import AccountsError
from producers.accounts.explain import explain
from producers.accounts.kafka_io import (
    StateRead,
    ensure_account_topics,
    publish,
    read_state,
)
from producers.accounts.plan import LoadPlan, plan_load
from producers.accounts.rows import FileFormat, parse_account_file
from producers.tiering import (
    DEFAULT_CONFIG_PATH,
    TieringConfigError,
    decide_account_tier,
    load_tiering_config,
)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_FAILED = 2


def load_accounts_command(
    path: Path,
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    config_path: Path = DEFAULT_CONFIG_PATH,
    out: TextIO,
    err: TextIO | None = None,
    fmt: FileFormat = "auto",
    dry_run: bool = False,
    timeout: float = 30.0,
    now: datetime | None = None,
) -> int:
    """Validate, tier and publish an account master-data file; returns the exit code.

    Row errors go to ``err`` (default ``out``) as ``line N (ID): reason``. With ``dry_run`` the
    plan is printed but nothing is published (and no topic is created).
    """
    err = err or out
    now = now or datetime.now(UTC)
    try:
        config = load_tiering_config(config_path)
        parsed = parse_account_file(path, fmt=fmt, now=now)
    except (TieringConfigError, AccountsError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    for error in parsed.errors:
        print(f"rejected {error}", file=err)
    try:
        if not dry_run:
            ensure_account_topics(kafka, topics, timeout)
        read = read_state(kafka, topics, timeout=timeout)
        _warn_skipped(read, err)
        plan = plan_load(parsed.rows, config=config, state=read.state, now=now)
        if not dry_run:
            publish(kafka, _records(plan, topics), timeout=timeout)
    except (AccountsError, TopicError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    _summary(plan, rejected=len(parsed.errors), topics=topics, dry_run=dry_run, out=out)
    return EXIT_REJECTED if parsed.errors else EXIT_OK


def explain_account_command(
    account_id: str,
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    config_path: Path = DEFAULT_CONFIG_PATH,
    out: TextIO,
    err: TextIO | None = None,
    timeout: float = 30.0,
) -> int:
    """Print why the account has its tier, from its latest state on the topics."""
    err = err or out
    try:
        config = load_tiering_config(config_path)
        read = read_state(kafka, topics, timeout=timeout)
    except (TieringConfigError, AccountsError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    _warn_skipped(read, err)
    account = read.state.accounts.get(account_id)
    if account is None:
        print(f"account {account_id!r} not found on topic {topics.accounts}", file=err)
        return EXIT_REJECTED
    decision = decide_account_tier(
        account, config=config, decided_at=account.updated_at or datetime.now(UTC)
    )
    status = read.state.statuses.get(account_id)
    out.write(explain(account, decision, config=config, status=status))
    return EXIT_OK


def _records(plan: LoadPlan, topics: TopicSettings) -> list[tuple[str, str, bytes]]:
    accounts = [
        (topics.accounts, a.account_id, a.model_dump_json().encode()) for a in plan.accounts
    ]
    statuses = [
        (topics.account_status, s.account_id, s.model_dump_json().encode()) for s in plan.statuses
    ]
    return accounts + statuses


def _summary(
    plan: LoadPlan, *, rejected: int, topics: TopicSettings, dry_run: bool, out: TextIO
) -> None:
    for status in plan.statuses:
        before = status.previous_tier.value if status.previous_tier else "(none)"
        print(
            f"tier change {status.account_id}: {before} -> {status.tier.value} "
            f"(score {status.score:.2f}{', override' if status.override else ''})",
            file=out,
        )
    verb = "would publish" if dry_run else "published"
    print(
        f"{len(plan.decisions)} valid, {rejected} rejected; {verb} {len(plan.accounts)} "
        f"account(s) to {topics.accounts} ({plan.unchanged} unchanged) and "
        f"{len(plan.statuses)} tier change(s) to {topics.account_status}",
        file=out,
    )


def _warn_skipped(read: StateRead, err: TextIO) -> None:
    if read.skipped:
        print(f"warning: ignored {read.skipped} undecodable record(s) on the topics", file=err)
