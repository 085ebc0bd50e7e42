"""The pure core without Kafka, over fixed account records: ground truth for tests, backfill
benchmarks and recomputations of what the workers published."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from schemas import Account
from streams.alerting import load_alert_rules
from streams.enrichment import AccountDirectory, add_version
from streams.kpis import KpiConfig
from streams.pipeline import BatchOutcome, TouchpointProcessor
from streams.validation import ValidationPolicy


def offline_processor(
    accounts: Iterable[Account],
    *,
    state: dict[str, bytes],
    rules_path: Path | str = "config/alert_rules.toml",
    **options: Any,
) -> TouchpointProcessor:
    """A processor over ``accounts`` and ``state``, with the default validation and KPI
    settings; ``options`` as for :class:`TouchpointProcessor`. An account listed more than once
    has every version in its history (each takes effect at its ``updated_at``), as when its
    records were all read from the accounts topic before the events."""
    history: dict[str, bytes] = {}
    for account in accounts:
        history[account.account_id] = add_version(history.get(account.account_id), account)
    return TouchpointProcessor(
        accounts=AccountDirectory(records=history),
        state=state,
        policy=ValidationPolicy(),
        kpis=KpiConfig(),
        alert_rules=load_alert_rules(rules_path),
        **options,
    )


def apply_state(state: dict[str, bytes], outcome: BatchOutcome) -> None:
    """Write an outcome's state as the worker writes its table (``None`` deletes)."""
    for writes in outcome.state_writes.values():
        for key, value in writes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
