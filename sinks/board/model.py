"""What the portfolio shows, built from query rows by pure functions (no I/O, no HTTP); the
account page's parts are in :mod:`sinks.board.account_view`.

Scores, bands and the worst-of flag follow the KPI engine's own rules
(:func:`streams.kpis.score.band_of`, ``ScoreConfig.poor_threshold``): an account is worst-of
poor when ANY contact point scores below the threshold, whatever its average.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

from schemas.touchpoints import ContactPoint
from sinks.backend import QueryResult
from streams.kpis.config import ScoreConfig
from streams.kpis.score import Band, band_of

CONTACT_POINTS: tuple[str, ...] = tuple(cp.value for cp in ContactPoint)
OVERALL = "overall"
SEVERITIES = ("critical", "warning", "info")
SortKey = Literal["name", "owner", "tier", "overall", "sales", "logistics", "support",
                  "billing", "alerts", "worst"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)


def records(result: QueryResult) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name."""
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def parse_time(value: Any) -> datetime | None:
    """A ClickHouse ``DateTime64`` in JSON (``'2026-12-01 10:00:00.000'``, UTC) as aware time."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Score:
    value: float | None
    band: Band | None

    @property
    def text(self) -> str:
        return "-" if self.value is None else f"{self.value:.1f}"


def score_of(value: float | None, config: ScoreConfig) -> Score:
    return Score(value=value, band=band_of(value, config))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    day: date
    value: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRow:
    account_id: str
    name: str
    tier: str
    owner: str | None
    team: str | None
    tier_score: float | None
    scores: dict[str, Score]
    """Per contact point and ``overall``."""
    worst_of_poor: bool
    poor_contact_points: tuple[str, ...]
    alerts: dict[str, int]
    """Open alerts per severity (every severity present, 0 when none)."""
    trend: tuple[TrendPoint, ...]

    @property
    def open_alerts(self) -> int:
        return sum(self.alerts.values())


def daily_series(
    rows: Iterable[tuple[date, float | None]], days: Sequence[date]
) -> tuple[TrendPoint, ...]:
    """The score of each day: that day's last value, else the previous day's carried on
    (``None`` before the first value, and where a window had no data)."""
    by_day = dict(rows)
    current: float | None = None
    points = []
    for day in days:
        if day in by_day:
            current = by_day[day]
        points.append(TrendPoint(day=day, value=current))
    return tuple(points)


def trend_days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), end.date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _trend_rows(trend: QueryResult) -> dict[tuple[str, str], list[tuple[date, float | None]]]:
    grouped: dict[tuple[str, str], list[tuple[date, float | None]]] = {}
    for row in records(trend):
        value = row["score"]
        grouped.setdefault((row["account_id"], row["contact_point"]), []).append(
            (date.fromisoformat(str(row["day"])), None if value is None else float(value))
        )
    return grouped


def series_by_key(
    trend: QueryResult, days: Sequence[date]
) -> dict[tuple[str, str], tuple[TrendPoint, ...]]:
    """(account, contact point) -> its daily series."""
    return {key: daily_series(rows, days) for key, rows in _trend_rows(trend).items()}


def _scores(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    found: dict[str, dict[str, float | None]] = {}
    for row in rows:
        value = row["experience_score"]
        found.setdefault(row["account_id"], {})[row["contact_point"]] = (
            None if value is None else float(value)
        )
    return found


def _alerts(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = found.setdefault(row["account_id"], dict.fromkeys(SEVERITIES, 0))
        counts[row["severity"]] = int(row["alerts"])
    return found


def poor_points(values: dict[str, float | None], config: ScoreConfig) -> tuple[str, ...]:
    """Contact points scoring below the poor threshold (the worst-of rule)."""
    return tuple(
        cp for cp in CONTACT_POINTS
        if (value := values.get(cp)) is not None and value < config.poor_threshold
    )


def build_portfolio(
    *,
    accounts: QueryResult,
    scores: QueryResult,
    alerts: QueryResult,
    trend: QueryResult,
    days: Sequence[date],
    config: ScoreConfig,
) -> list[PortfolioRow]:
    """One row per strategic or key account, ordered by account id."""
    score_values, alert_counts = _scores(records(scores)), _alerts(records(alerts))
    series = series_by_key(trend, days)
    empty = tuple(TrendPoint(day=day, value=None) for day in days)
    rows = []
    for account in records(accounts):
        account_id = account["account_id"]
        values = score_values.get(account_id, {})
        poor = poor_points(values, config)
        rows.append(
            PortfolioRow(
                account_id=account_id,
                name=account["name"],
                tier=account["tier"],
                owner=account["kam_owner"],
                team=account["kam_team"],
                tier_score=account["tier_score"],
                scores={cp: score_of(values.get(cp), config) for cp in (*CONTACT_POINTS, OVERALL)},
                worst_of_poor=bool(poor),
                poor_contact_points=poor,
                alerts=alert_counts.get(account_id, dict.fromkeys(SEVERITIES, 0)),
                trend=series.get((account_id, OVERALL), empty),
            )
        )
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioView:
    """What the portfolio is filtered and sorted by (validated in :mod:`sinks.board.params`)."""

    owner: str | None = None
    tier: str | None = None
    contact_point: str | None = None
    sort: str = "worst"
    descending: bool = False


def _sort_value(row: PortfolioRow, key: str) -> tuple[bool, tuple[Any, ...]]:
    """(no value to sort by, the value)."""
    if key in (OVERALL, *CONTACT_POINTS):
        value = row.scores[key].value
        return value is None, (value,)
    if key == "alerts":
        return False, tuple(row.alerts[s] for s in SEVERITIES)
    if key == "worst":  # worst-of poor first, then the lowest overall score
        overall = row.scores[OVERALL].value
        return overall is None and not row.worst_of_poor, (not row.worst_of_poor, overall or 0.0)
    text = {"name": row.name, "owner": row.owner, "tier": row.tier}[key]
    return text is None, ((text or "").casefold(),)


def select_rows(rows: Sequence[PortfolioRow], view: PortfolioView) -> list[PortfolioRow]:
    """Rows matching the filters, sorted (ties by account id; rows without a value last).

    With a contact point, only accounts with a score there are kept.
    """
    kept = sorted(
        (
            row for row in rows
            if (view.owner is None or row.owner == view.owner)
            and (view.tier is None or row.tier == view.tier)
            and (view.contact_point is None or row.scores[view.contact_point].value is not None)
        ),
        key=lambda row: row.account_id,
    )
    present = [row for row in kept if not _sort_value(row, view.sort)[0]]
    missing = [row for row in kept if _sort_value(row, view.sort)[0]]
    present.sort(key=lambda row: _sort_value(row, view.sort)[1], reverse=view.descending)
    return present + missing


def owners(rows: Iterable[PortfolioRow]) -> list[str]:
    return sorted({row.owner for row in rows if row.owner})
