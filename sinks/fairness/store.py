"""The fairness readers: the ``treatment_gap`` and ``account_reciprocity`` views and the
latest state of each treatment-gap alert, through any query function (``kam sql``'s path in
production, a chdb backend in tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.accounts import AccountTier
from schemas.alerts import Alert
from sinks.backend import QueryResult, sql_string
from sinks.fairness.config import COSTS
from sinks.fairness.gaps import TIERS, TierValues
from sinks.fairness.review import AccountSignals

Query = Callable[[str], QueryResult]
NUMBERS = " SETTINGS output_format_json_quote_64bit_integers = 0"
"""Counts come back as JSON numbers through every path (the sink's endpoint included)."""

GAP_SQL = (
    "SELECT contact_point, window, kpi, strategic_value, key_value, standard_value,"
    " strategic_accounts, key_accounts, standard_accounts"
    " FROM {db}.treatment_gap ORDER BY contact_point, window, kpi"
)
ALERT_COLUMNS = (
    "account_id", "account_name", "tier", "kam_owner", "kam_team", "contact_point", "rule",
    "severity", "status", "summary", "evidence",
)  # fmt: skip
SIGNAL_COLUMNS = (
    "account_id", "name", "tier", "tier_score", "events", "billed_first_half",
    "billed_second_half", "ordered", "payments", "payments_on_time", "orders_first_half",
    "orders_second_half", "csat_responses", "csat_satisfied", "nps_responses", "nps_promoters",
    "nps_detractors", "tickets", "escalations", "disputes", "credit_notes", "failed_deliveries",
    "returns",
)  # fmt: skip


def read_gaps(query: Query, database: str) -> list[TierValues]:
    """Every row of ``treatment_gap``."""
    rows = query(GAP_SQL.format(db=database) + NUMBERS).rows
    return [
        TierValues(
            contact_point=cp, window=window, kpi=kpi,
            values=dict(zip(TIERS, values[:3], strict=True)),
            accounts=dict(zip(TIERS, values[3:], strict=True)),
        )
        for cp, window, kpi, *values in rows
    ]  # fmt: skip


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def read_alert_states(query: Query, database: str, account_id: str) -> dict[str, Alert]:
    """The latest stored state of every alert of ``account_id`` (the portfolio), by key."""
    latest = ", ".join(f"argMax({c}, updated_at) AS {c}_" for c in ALERT_COLUMNS)
    sql = (
        f"SELECT alert_key, {latest}, min(started_at) AS started, max(updated_at) AS updated"
        f" FROM {database}.alerts WHERE account_id = {sql_string(account_id)}"
        " GROUP BY alert_key ORDER BY alert_key"
    )
    states = {}
    for key, *values, started, updated in query(sql + NUMBERS).rows:
        fields: dict[str, Any] = dict(zip(ALERT_COLUMNS, values, strict=True))
        fields["evidence"] = orjson.loads(fields["evidence"] or "{}")
        states[key] = Alert(alert_key=key, started_at=_time(started), updated_at=_time(updated),
                            **fields)  # fmt: skip
    return states


def read_signals(query: Query, database: str, *, end: datetime, horizon_days: int
                 ) -> list[AccountSignals]:  # fmt: skip
    """Every account with events in the ``horizon_days`` before ``end``."""
    moment = end.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    sql = (
        f"SELECT {', '.join(SIGNAL_COLUMNS)} FROM {database}.account_reciprocity("
        f"end = {sql_string(moment)}, horizon_days = {int(horizon_days)}) ORDER BY account_id"
    )
    found = []
    for row in query(sql + NUMBERS).rows:
        fields = dict(zip(SIGNAL_COLUMNS, row, strict=True))
        costs = {cost: int(fields.pop(column)) for cost, column in zip(COSTS, SIGNAL_COLUMNS[-6:],
                                                                       strict=True)}  # fmt: skip
        found.append(AccountSignals(**{**fields, "tier": AccountTier(fields["tier"])},
                                    costs=costs))  # fmt: skip
    return found
