"""What each page shows, loaded through the store (blocking: run it off the event loop)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from kam.settings import BoardSettings
from producers.accounts.explain import explain
from producers.tiering import TierDecision, TieringConfig, decide_account_tier
from schemas.accounts import Account, AccountTier
from sinks.backend import QueryResult
from sinks.board import charts, queries
from sinks.board.account_view import (
    AccountHeader,
    build_kpis,
    build_timeline,
    open_alert_list,
    targets_of,
)
from sinks.board.exceptions import InvalidInputError, PageNotFoundError
from sinks.board.model import (
    CONTACT_POINTS,
    OVERALL,
    SEVERITIES,
    PortfolioView,
    build_portfolio,
    owners,
    parse_time,
    poor_points,
    records,
    score_of,
    select_rows,
    series_by_key,
    trend_days,
)
from sinks.board.params import SqlParams
from sinks.board.snoozes import SnoozeCache, SnoozesUnavailableError, account_snoozes
from sinks.board.store import BoardStore
from streams.alerting.config import AlertRulesConfig
from streams.kpis.config import KpiConfig

SQL_ROWS_SHOWN = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardContext:
    """Everything the pages need besides the request: settings, store, configs, clock."""

    settings: BoardSettings
    store: BoardStore
    kpi_config: KpiConfig
    alert_rules: AlertRulesConfig
    tiering: TieringConfig
    snoozes: SnoozeCache | None
    """``None``: no Kafka cluster configured, the account pages say so."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def scope(self, **values: Any) -> queries.Scope:
        return queries.Scope(database=self.store.database, **values)

    def trend_scope(self, now: datetime, **values: Any) -> queries.Scope:
        start, end = queries.trend_range(now, self.settings.trend_days)
        return self.scope(start=start, end=end, **values)


def portfolio_page(board: BoardContext, view: PortfolioView) -> dict[str, Any]:
    now = board.clock()
    trend_scope = board.trend_scope(now, contact_point=OVERALL)
    assert trend_scope.start is not None and trend_scope.end is not None
    rows = build_portfolio(
        accounts=board.store.query(queries.portfolio_accounts(board.scope())),
        scores=board.store.query(queries.scores(board.scope())),
        alerts=board.store.query(queries.open_alerts(board.scope())),
        trend=board.store.query(queries.trend(trend_scope)),
        days=trend_days(trend_scope.start, trend_scope.end),
        config=board.kpi_config.score,
    )
    shown = select_rows(rows, view)
    return {
        "now": now,
        "rows": shown,
        "total": len(rows),
        "owners": owners(rows),
        "view": view,
        "contact_points": [view.contact_point] if view.contact_point else list(CONTACT_POINTS),
        "all_contact_points": CONTACT_POINTS,
        "severities": SEVERITIES,
        "sparklines": {row.account_id: charts.sparkline(row.trend) for row in shown},
        "poor_threshold": board.kpi_config.score.poor_threshold,
        "health_window": _health_window(board),
        "trend_days": board.settings.trend_days,
    }


def _health_window(board: BoardContext) -> str | None:
    rows = board.store.query(queries.health_window(board.scope())).rows
    return str(rows[0][0]) if rows and rows[0][0] else None


def _header(result: QueryResult, account_id: str) -> AccountHeader:
    found = records(result)
    if not found:
        raise PageNotFoundError(f"no account {account_id!r} in the accounts table")
    row = found[0]
    try:
        attributes = orjson.loads(row["attributes"] or "{}")
    except orjson.JSONDecodeError:
        attributes = {}
    return AccountHeader(
        account_id=row["account_id"], name=row["name"], tier=row["tier"],
        tier_score=row["tier_score"], owner=row["kam_owner"], team=row["kam_team"],
        segment=row["segment"], parent=row["parent_account_id"],
        updated_at=parse_time(row["updated_at"]),
        attributes=attributes if isinstance(attributes, dict) else {},
    )


@dataclass(frozen=True, slots=True)
class TierExplanation:
    decision: TierDecision | None
    text: str
    problem: str | None


def explain_tier(header: AccountHeader, tiering: TieringConfig) -> TierExplanation:
    """The weighted-criteria decision for the stored master data (``kam accounts explain``)."""
    fields = {key: value for key, value in header.attributes.items() if key in Account.model_fields}
    document = {
        **fields, "account_id": header.account_id, "name": header.name, "tier": header.tier,
        "tier_score": header.tier_score, "kam_owner": header.owner, "kam_team": header.team,
        "segment": header.segment, "parent_account_id": header.parent,
        "updated_at": header.updated_at,
    }
    try:
        account = Account.model_validate(document)
    except ValidationError as exc:
        return TierExplanation(None, "", f"the stored master data is not a valid account: {exc}")
    decision = decide_account_tier(
        account, config=tiering, decided_at=account.updated_at or datetime.now(UTC)
    )
    return TierExplanation(decision, explain(account, decision, config=tiering, status=None), None)


def _snoozes(board: BoardContext, account_id: str, now: datetime) -> tuple[list[Any], str | None]:
    if board.snoozes is None:
        return [], "snoozes are not shown: no Kafka cluster configured for the board"
    try:
        book = board.snoozes.book()
    except SnoozesUnavailableError as exc:
        return [], str(exc)
    return account_snoozes(book, account_id, now), None


def account_page(board: BoardContext, account_id: str) -> dict[str, Any]:
    now = board.clock()
    scope = board.scope(account_id=account_id, limit=board.settings.timeline_limit)
    header = _header(board.store.query(queries.account(scope)), account_id)
    score_rows = records(board.store.query(queries.scores(scope)))
    values = {row["contact_point"]: row["experience_score"] for row in score_rows}
    config = board.kpi_config.score
    trend_scope = board.trend_scope(now, account_id=account_id)
    assert trend_scope.start is not None and trend_scope.end is not None
    days = trend_days(trend_scope.start, trend_scope.end)
    series = series_by_key(board.store.query(queries.trend(trend_scope)), days)
    lines = {cp: series[(account_id, cp)] for cp in (OVERALL, *CONTACT_POINTS)
             if (account_id, cp) in series}
    tier_rules = board.alert_rules.tiers.get(AccountTier(header.tier))
    targets = targets_of(tier_rules.thresholds if tier_rules else ())
    alert_counts = dict.fromkeys(SEVERITIES, 0)
    for row in records(board.store.query(queries.open_alerts(scope))):
        alert_counts[row["severity"]] = int(row["alerts"])
    snoozes, snooze_problem = _snoozes(board, account_id, now)
    return {
        "now": now,
        "account": header,
        "scores": {cp: score_of(values.get(cp), config) for cp in (OVERALL, *CONTACT_POINTS)},
        "poor": poor_points(values, config),
        "poor_threshold": config.poor_threshold,
        "health_window": _health_window(board),
        "windows": list(board.kpi_config.windows),
        "kpis": build_kpis(board.store.query(queries.kpis(scope)),
                           windows=list(board.kpi_config.windows), targets=targets),
        "open_alerts": open_alert_list(board.store.query(queries.open_alert_list(scope))),
        "alert_counts": alert_counts,
        "timeline": build_timeline(
            board.store.query(queries.touchpoints(scope)),
            board.store.query(queries.alert_states(scope)),
            limit=board.settings.timeline_limit,
        ),
        "trend_chart": charts.trend_chart(lines, title="Experience score, last "
                                          f"{board.settings.trend_days} days") if lines else None,
        "trend": lines,
        "tier": explain_tier(header, board.tiering),
        "snoozes": snoozes,
        "snooze_problem": snooze_problem,
        "contact_points": CONTACT_POINTS,
    }


def sql_page(board: BoardContext, name: str, params: SqlParams) -> dict[str, Any]:
    """A named statement with its parameters, as text, and what it returns now."""
    named = queries.QUERIES.get(name)
    if named is None:
        raise PageNotFoundError(f"no query named {name!r}; known: {', '.join(queries.QUERIES)}")
    if named.needs_account and params.account is None:
        raise InvalidInputError(f"query {name!r} needs the parameter 'account'")
    values: dict[str, Any] = {
        "account_id": params.account, "contact_point": params.contact_point,
        "window": params.window, "kpi": params.kpi, "severity": params.severity,
        "limit": board.settings.timeline_limit,
    }
    now = board.clock()
    scope = board.trend_scope(now, **values) if name == "trend" else board.scope(**values)
    sql = named.build(scope)
    result = board.store.query(sql)
    return {
        "name": name,
        "title": named.title,
        "sql": sql,
        "params": {k: v for k, v in params.model_dump().items() if v is not None},
        "columns": result.columns,
        "rows": result.rows[:SQL_ROWS_SHOWN],
        "row_count": len(result.rows),
        "shown": SQL_ROWS_SHOWN,
        "now": now,
    }
