"""What the account page shows, built from query rows by pure functions: KPI cells with the
alert rules' targets, the timeline, the open alerts, the account's master data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sinks.backend import QueryResult
from sinks.board.model import CONTACT_POINTS, OVERALL, parse_time, records
from streams.alerting.config import ThresholdRule

_RATIOS = frozenset({"otif", "sla_attainment", "invoice_accuracy"})



def kpi_text(kpi: str, value: float | None) -> str:
    """A KPI value in its unit: ratios as percent, hours, minutes, days, NPS points."""
    if value is None:
        return "-"
    if kpi.endswith("_rate") or kpi in _RATIOS:
        return f"{value * 100:.1f}%"
    units = (("_hours", "{:.1f} h"), ("_minutes", "{:.0f} min"), ("days_", "{:.1f} d"),
             ("_days", "{:.1f} d"), ("csat_avg", "{:.2f}"))
    pattern = next((form for part, form in units if part in kpi), "{:.1f}")
    return pattern.format(value)


@dataclass(frozen=True, slots=True)
class Target:
    """An alert rule's limit for one KPI (and window), for the account's tier."""

    direction: Literal["below", "above"]
    threshold: float
    critical: float | None

    def text(self, kpi: str) -> str:
        sign = ">=" if self.direction == "below" else "<="
        return f"{sign} {kpi_text(kpi, self.threshold)}"

    def status(self, value: float | None) -> Literal["ok", "breach", "critical"] | None:
        if value is None:
            return None
        below = self.direction == "below"
        if self.critical is not None and (
            value < self.critical if below else value > self.critical
        ):
            return "critical"
        bad = value < self.threshold if below else value > self.threshold
        return "breach" if bad else "ok"


def targets_of(rules: Sequence[ThresholdRule]) -> dict[tuple[str, str | None], Target]:
    """(kpi, window or None for any window) -> target."""
    return {
        (rule.kpi, rule.window): Target(rule.direction, rule.threshold, rule.critical)
        for rule in rules
    }


@dataclass(frozen=True, slots=True)
class KpiCell:
    value: float | None
    text: str
    as_of: datetime | None
    target: Target | None
    status: Literal["ok", "breach", "critical"] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiRow:
    contact_point: str
    kpi: str
    cells: dict[str, KpiCell]
    """Window -> cell (windows without a row are absent)."""


def build_kpis(
    result: QueryResult, *, windows: Sequence[str], targets: dict[tuple[str, str | None], Target]
) -> list[KpiRow]:
    """KPI rows (contact point, KPI) with one cell per window; experience scores first."""
    grouped: dict[tuple[str, str], dict[str, KpiCell]] = {}
    for row in records(result):
        kpi, window = row["kpi"], row["window"]
        value = None if row["value"] is None else float(row["value"])
        target = targets.get((kpi, window)) or targets.get((kpi, None))
        grouped.setdefault((row["contact_point"], kpi), {})[window] = KpiCell(
            value=value,
            text=kpi_text(kpi, value),
            as_of=parse_time(row["latest_as_of"]),
            target=target,
            status=target.status(value) if target else None,
        )
    order = {cp: n for n, cp in enumerate((OVERALL, *CONTACT_POINTS))}
    keys = sorted(
        grouped, key=lambda k: (order.get(k[0], 99), k[1] != "experience_score", k[1])
    )
    return [
        KpiRow(contact_point=cp, kpi=kpi, cells={w: grouped[(cp, kpi)][w]
                                                 for w in windows if w in grouped[(cp, kpi)]})
        for cp, kpi in keys
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    at: datetime
    kind: Literal["touchpoint", "alert"]
    contact_point: str
    title: str
    detail: str | None
    flag: str | None
    """``bad`` for a bad experience; ``firing``/``resolved`` for an alert state."""
    severity: str | None = None


def build_timeline(touchpoints: QueryResult, alerts: QueryResult, *, limit: int) -> list[
    TimelineEntry
]:
    """Touchpoints and alert states, newest first, at most ``limit`` of them."""
    entries = [
        TimelineEntry(
            at=parse_time(row["occurred_at"]) or datetime.min,
            kind="touchpoint",
            contact_point=row["contact_point"],
            title=f"{row['event_type']} ({row['event_id']}, {row['source_system']})",
            detail=row["bad_experience"],
            flag="bad" if row["bad_experience"] else None,
        )
        for row in records(touchpoints)
    ]
    entries += [
        TimelineEntry(
            at=parse_time(row["updated_at"]) or datetime.min,
            kind="alert",
            contact_point=row["contact_point"],
            title=f"alert {row['rule']} {row['status']}",
            detail=row["summary"],
            flag=row["status"],
            severity=row["severity"],
        )
        for row in records(alerts)
    ]
    entries.sort(key=lambda entry: (entry.at, entry.kind == "alert"), reverse=True)
    return entries[:limit]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAlert:
    alert_key: str
    contact_point: str
    rule: str
    severity: str
    summary: str
    started_at: datetime | None


def open_alert_list(result: QueryResult) -> list[OpenAlert]:
    """The rows of the ``open_alert_list`` query (alerts whose latest state is firing)."""
    return [
        OpenAlert(
            alert_key=row["alert_key"], contact_point=row["contact_point"], rule=row["rule"],
            severity=row["severity"], summary=row["summary"],
            started_at=parse_time(row["started_at"]),
        )
        for row in records(result)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountHeader:
    account_id: str
    name: str
    tier: str
    tier_score: float | None
    owner: str | None
    team: str | None
    segment: str | None
    parent: str | None
    updated_at: datetime | None
    attributes: dict[str, Any] = field(default_factory=dict)
