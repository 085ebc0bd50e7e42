"""Pure parts of the board: daily series, filters and order, KPI units, targets."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sinks.board.account_view import Target, kpi_text
from sinks.board.model import (
    PortfolioRow,
    PortfolioView,
    daily_series,
    score_of,
    select_rows,
    trend_days,
)
from sinks.board.queries import trend_range
from streams.kpis.config import ScoreConfig

CONFIG = ScoreConfig()


def row(account_id: str, overall: float | None, *, poor: bool = False, owner: str | None = None,
        critical: int = 0) -> PortfolioRow:
    return PortfolioRow(
        account_id=account_id, name=account_id.upper(), tier="key", owner=owner, team=None,
        tier_score=None, scores={"overall": score_of(overall, CONFIG)}, worst_of_poor=poor,
        poor_contact_points=("sales",) if poor else (),
        alerts={"critical": critical, "warning": 0, "info": 0}, trend=(),
    )


def test_daily_series_carries_the_last_value_on() -> None:
    days = [date(2026, 12, d) for d in range(1, 6)]
    points = daily_series([(date(2026, 12, 2), 50.0), (date(2026, 12, 4), None)], days)
    assert [p.value for p in points] == [None, 50.0, 50.0, None, None]


def test_trend_range_is_whole_days_up_to_now() -> None:
    now = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    start, end = trend_range(now, 30)
    assert (start, end) == (datetime(2026, 11, 4, tzinfo=UTC), now)
    assert len(trend_days(start, end)) == 30


def test_worst_of_first_then_lowest_score_and_missing_last() -> None:
    rows = [row("a", 90.0), row("b", None), row("c", 70.0, poor=True), row("d", 60.0),
            row("e", None, poor=True)]
    assert [r.account_id for r in select_rows(rows, PortfolioView())] == ["e", "c", "d", "a", "b"]
    descending = PortfolioView(sort="overall", descending=True)
    assert [r.account_id for r in select_rows(rows, descending)] == ["a", "c", "d", "b", "e"]
    assert [r.account_id for r in select_rows(rows, PortfolioView(sort="name"))] == [
        "a", "b", "c", "d", "e"
    ]


def test_ties_keep_account_order_and_owner_filter() -> None:
    rows = [row("z", 50.0, owner="ana", critical=1), row("y", 50.0, owner="ben"),
            row("x", 50.0, owner="ana")]
    assert [r.account_id for r in select_rows(rows, PortfolioView(sort="overall"))] == [
        "x", "y", "z"
    ]
    alerts = PortfolioView(sort="alerts", descending=True)
    assert [r.account_id for r in select_rows(rows, alerts)] == ["z", "x", "y"]
    assert [r.account_id for r in select_rows(rows, PortfolioView(owner="ana"))] == ["x", "z"]


def test_kpi_units() -> None:
    assert kpi_text("otif", 0.9512) == "95.1%"
    assert kpi_text("damage_rate", 0.02) == "2.0%"
    assert kpi_text("quote_turnaround_hours_avg", 5.25) == "5.2 h"
    assert kpi_text("resolution_minutes_p90", 125.4) == "125 min"
    assert kpi_text("days_since_executive_contact", 12.0) == "12.0 d"
    assert kpi_text("dispute_resolution_days_avg", 3.5) == "3.5 d"
    assert kpi_text("csat_avg", 4.256) == "4.26"
    assert kpi_text("nps", -12.0) == "-12.0"
    assert kpi_text("otif", None) == "-"


def test_targets() -> None:
    otif = Target("below", 0.95, 0.85)
    assert (otif.status(0.96), otif.status(0.9), otif.status(0.8), otif.status(None)) == (
        "ok", "breach", "critical", None
    )
    assert otif.text("otif") == ">= 95.0%"
    disputes = Target("above", 0.05, None)
    assert (disputes.status(0.05), disputes.status(0.5)) == ("ok", "breach")
    assert disputes.text("dispute_rate") == "<= 5.0%"
