"""Every statement the board runs, built from fixed templates and validated values only.

The browser never sends SQL: a page names a query and its parameters, each checked
(:mod:`sinks.board.params`), and the value is quoted here with :func:`sinks.backend.sql_string`.
Each number on a page links to the statement that produced it (``/sql/<name>?...``), which the
board shows and runs again. Scores come from ``account_health_current``, so the board and the
analysts' view share one health window (``kam_settings.health_window``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sinks.backend import quoted_identifier, sql_string

BOARD_TIERS = ("strategic", "key")
"""The tiers the portfolio shows (the accounts KAM is about)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """The parameters a statement may use; which ones each needs is in :data:`QUERIES`."""

    database: str
    account_id: str | None = None
    contact_point: str | None = None
    """A contact point or ``overall``."""
    window: str | None = None
    kpi: str | None = None
    severity: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 50

    @property
    def db(self) -> str:
        return quoted_identifier(self.database)


def time_literal(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return f"toDateTime64({sql_string(text)}, 3, 'UTC')"


def _one(scope: Scope, column: str, value: str | None) -> str:
    return "" if value is None else f"\n  AND {column} = {sql_string(value)}"


def _account(scope: Scope) -> str:
    """The account (and contact point, when given) a page's statement is about."""
    account = f"account_id = {sql_string(scope.account_id or '')}"
    return account + _one(scope, "contact_point", scope.contact_point)


def health_window(scope: Scope) -> str:
    return (
        f"SELECT argMax(value, updated_at) FROM {scope.db}.kam_settings"
        " WHERE key = 'health_window'"
    )


def _board_accounts(scope: Scope) -> str:
    tiers = ", ".join(sql_string(tier) for tier in BOARD_TIERS)
    return f"SELECT account_id FROM {scope.db}.accounts FINAL WHERE tier IN ({tiers})"


def portfolio_accounts(scope: Scope) -> str:
    tiers = ", ".join(sql_string(tier) for tier in BOARD_TIERS)
    return f"""SELECT account_id, name, toString(tier) AS tier, kam_owner, kam_team, tier_score
FROM {scope.db}.accounts FINAL
WHERE tier IN ({tiers}){_one(scope, "account_id", scope.account_id)}
ORDER BY account_id"""


def scores(scope: Scope) -> str:
    """Latest experience score per contact point (and ``overall``) in the health window."""
    where = (
        f"account_id IN ({_board_accounts(scope)})"
        if scope.account_id is None
        else f"account_id = {sql_string(scope.account_id)}"
    )
    return f"""SELECT account_id, contact_point, window, experience_score, scored_at
FROM {scope.db}.account_health_current
WHERE {where}{_one(scope, "contact_point", scope.contact_point)}
ORDER BY account_id, contact_point"""


def open_alerts(scope: Scope) -> str:
    """Alerts whose latest state is firing, counted by account and severity."""
    return f"""SELECT latest_account AS account_id, severity, count() AS alerts
FROM
(
    SELECT
        alert_key,
        argMax(account_id, updated_at) AS latest_account,
        toString(argMax(severity, updated_at)) AS severity,
        argMax(status, updated_at) AS status
    FROM {scope.db}.alerts
    WHERE 1 = 1{_one(scope, "account_id", scope.account_id)}
    GROUP BY alert_key
)
WHERE status = 'firing'{_one(scope, "severity", scope.severity)}
GROUP BY account_id, severity
ORDER BY account_id, severity"""


def trend(scope: Scope) -> str:
    """The last experience score of each day in [start, end), per account x contact point;
    the first day also carries the latest score from before ``start``."""
    assert scope.start is not None and scope.end is not None
    start, end = time_literal(scope.start), time_literal(scope.end)
    accounts = (
        f"account_id IN ({_board_accounts(scope)})"
        if scope.account_id is None
        else f"account_id = {sql_string(scope.account_id)}"
    )
    return f"""SELECT
    account_id,
    contact_point,
    toDate(greatest(ifNull(as_of, computed_at), {start})) AS day,
    argMax(tuple(value), (ifNull(as_of, computed_at), computed_at)).1 AS score
FROM {scope.db}.kpi_snapshots
WHERE kpi = 'experience_score'
  AND window = ({health_window(scope)})
  AND {accounts}{_one(scope, "contact_point", scope.contact_point)}
  AND ifNull(as_of, computed_at) < {end}
GROUP BY account_id, contact_point, day
ORDER BY account_id, contact_point, day"""


def account(scope: Scope) -> str:
    return f"""SELECT account_id, name, toString(tier) AS tier, tier_score, kam_owner, kam_team,
       segment, parent_account_id, updated_at, attributes
FROM {scope.db}.accounts FINAL
WHERE account_id = {sql_string(scope.account_id or "")}"""


def kpis(scope: Scope) -> str:
    """The latest value of every KPI of an account per contact point and window (NULL: no
    data in that window now), as in docs/analysts.md."""
    return f"""SELECT
    contact_point,
    window,
    kpi,
    argMax(tuple(value), (ifNull(as_of, computed_at), computed_at)).1 AS value,
    max(ifNull(as_of, computed_at)) AS latest_as_of
FROM {scope.db}.kpi_snapshots
WHERE {_account(scope)}{_one(scope, "window", scope.window)}{_one(scope, "kpi", scope.kpi)}
GROUP BY contact_point, window, kpi
ORDER BY contact_point, kpi, window"""


def touchpoints(scope: Scope) -> str:
    return f"""SELECT occurred_at, toString(contact_point) AS contact_point, event_type, event_id,
       source_system, bad_experience
FROM {scope.db}.touchpoints
WHERE {_account(scope)}
ORDER BY occurred_at DESC, event_id
LIMIT {int(scope.limit)}"""


def alert_states(scope: Scope) -> str:
    return f"""SELECT updated_at, alert_key, toString(contact_point) AS contact_point, rule,
       toString(severity) AS severity, toString(status) AS status, summary, started_at
FROM {scope.db}.alerts
WHERE {_account(scope)}
ORDER BY updated_at DESC, alert_key
LIMIT {int(scope.limit)}"""


def open_alert_list(scope: Scope) -> str:
    """An account's alerts whose latest state is firing, most severe and oldest first."""
    return f"""SELECT
    alert_key,
    latest_contact_point AS contact_point,
    latest_rule AS rule,
    toString(level) AS severity,
    latest_summary AS summary,
    first_started AS started_at
FROM
(
    SELECT
        alert_key,
        toString(argMax(contact_point, updated_at)) AS latest_contact_point,
        argMax(rule, updated_at) AS latest_rule,
        argMax(severity, updated_at) AS level,
        argMax(summary, updated_at) AS latest_summary,
        min(started_at) AS first_started,
        argMax(status, updated_at) AS latest_status
    FROM {scope.db}.alerts
    WHERE account_id = {sql_string(scope.account_id or "")}
    GROUP BY alert_key
)
WHERE latest_status = 'firing'
ORDER BY level, started_at, alert_key"""


@dataclass(frozen=True, slots=True)
class NamedQuery:
    title: str
    build: Callable[[Scope], str]
    needs_account: bool


QUERIES: dict[str, NamedQuery] = {
    "portfolio": NamedQuery("Strategic and key accounts", portfolio_accounts, False),
    "scores": NamedQuery("Experience scores in the health window", scores, False),
    "open_alerts": NamedQuery("Open alerts by severity", open_alerts, False),
    "trend": NamedQuery("Daily experience score", trend, False),
    "account": NamedQuery("Account master data", account, True),
    "kpis": NamedQuery("Latest KPI values per contact point and window", kpis, True),
    "open_alert_list": NamedQuery("Open alerts", open_alert_list, True),
    "touchpoints": NamedQuery("Recent touchpoints", touchpoints, True),
    "alert_states": NamedQuery("Recent alert states", alert_states, True),
}


def trend_range(now: datetime, days: int) -> tuple[datetime, datetime]:
    """``days`` whole UTC days ending with today's: [midnight ``days - 1`` days ago, now]."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1), now
