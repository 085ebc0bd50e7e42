"""KPI snapshots and scores as flat records: one per (account, contact point, window, KPI).

The shape is what the ClickHouse sink's ``kpi_snapshots`` table reads: ``account_id``,
``contact_point`` (``"overall"`` for the account score), ``window``, ``kpi``, ``value`` and
``computed_at`` (ISO 8601 with time zone). KPIs without a value produce no record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from streams.kpis.score import AccountHealth

OVERALL = "overall"
EXPERIENCE_SCORE = "experience_score"
KpiRecord = dict[str, str | float]


def kpi_records(
    *,
    account_id: str,
    contact_point: str,
    window: str,
    snapshot: Mapping[str, float | None],
    computed_at: datetime,
) -> list[KpiRecord]:
    """One record per KPI of ``snapshot`` that has a value."""
    when = computed_at.isoformat()
    return [
        {
            "account_id": account_id,
            "contact_point": str(contact_point),
            "window": window,
            "kpi": kpi,
            "value": float(value),
            "computed_at": when,
        }
        for kpi, value in snapshot.items()
        if value is not None
    ]


def health_records(
    *, account_id: str, window: str, health: AccountHealth, computed_at: datetime
) -> list[KpiRecord]:
    """``experience_score`` records: per scored contact point, and the account as ``overall``."""
    scores: dict[str, float | None] = {str(cp): s for cp, s in health.contact_point_scores.items()}
    scores[OVERALL] = health.score
    records: list[KpiRecord] = []
    for contact_point, score in scores.items():
        records += kpi_records(
            account_id=account_id,
            contact_point=contact_point,
            window=window,
            snapshot={EXPERIENCE_SCORE: score},
            computed_at=computed_at,
        )
    return records
