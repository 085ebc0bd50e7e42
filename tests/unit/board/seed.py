"""A small, exactly known board data set in chdb: accounts, scores, KPIs, alerts, touchpoints.

Shared by the board's unit tests and its headless-browser tests; every number a test expects
follows from the rows below (the board's clock is pinned to NOW).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sinks.chdb_backend import ChdbBackend
from sinks.migrate import apply_migrations
from sinks.query_endpoint import QueryEndpoint, endpoint_file
from sinks.rows import COLUMNS

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SOURCE = ("test", 0, 0)
# id: (name, tier, owner, team, tier_score, criteria)
ACCOUNTS: dict[str, tuple[str, str, str | None, str | None, float, dict[str, Any]]] = {
    "acme": ("Acme Corp", "strategic", "ana", "iberia", 81.5, {
        "annual_revenue_eur": 2e9, "purchase_volume_12m_eur": 5e7, "billing_volume_12m_eur": 4.8e7,
        "growth_potential": 8, "industry_weight": 9, "influence": 7,
        "current_profitability_pct": 18, "potential_profitability_pct": 25,
        "segment": "automotive",
    }),
    "globex": ("Globex", "strategic", "ben", "dach", 77.0, {}),
    "initech": ("Initech", "key", "ana", "iberia", 55.0, {}),
    "hooli": ("Hooli", "key", None, None, 50.0, {}),
    "umbrella": ("Umbrella", "standard", "carl", "dach", 20.0, {}),
    "umbrella/eu 2": ("Umbrella EU", "standard", "carl", "dach", 21.0, {}),
}


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def account_rows() -> list[tuple[Any, ...]]:
    rows = []
    for account_id, (name, tier, owner, team, score, criteria) in ACCOUNTS.items():
        segment = criteria.get("segment")
        attributes = {k: v for k, v in criteria.items() if k != "segment"}
        rows.append((account_id, name, tier, score, owner, team, segment, None, at(100),
                     orjson.dumps(attributes).decode(), *SOURCE))
    return rows


def kpi(account: str, cp: str, window: str, name: str, value: float | None, *,
        as_of: datetime) -> tuple[Any, ...]:
    return (account, cp, window, name, value, as_of, *SOURCE, as_of, None, as_of)


SCORES_30D = {  # latest experience score in the 30d health window
    "acme": {"overall": 68.4, "sales": 90.0, "logistics": 42.5, "support": 75.0,
             "billing": 65.5},
    "globex": {"overall": 88.0, "sales": 85.0, "logistics": 91.0, "support": 88.0},
    "initech": {"overall": 61.0, "billing": 61.0},
}


def kpi_rows() -> list[tuple[Any, ...]]:
    rows = []
    for account, scores in SCORES_30D.items():
        for cp, value in scores.items():
            rows.append(kpi(account, cp, "30d", "experience_score", value, as_of=at(hours=1)))
            # an older value, superseded by the one above
            rows.append(kpi(account, cp, "30d", "experience_score", 99.0, as_of=at(hours=2)))
            rows.append(kpi(account, cp, "7d", "experience_score", 10.0, as_of=at(hours=1)))
    # acme's overall trend in the 30d window: days 10, 5 and 2 ago, plus a value 40 days ago
    for days, value in ((40, 55.0), (10, 80.0), (5, 72.0), (2, 70.0)):
        rows.append(kpi("acme", "overall", "30d", "experience_score", value, as_of=at(days=days)))
    rows += [
        kpi("acme", "logistics", "7d", "otif", 0.813, as_of=at(hours=1)),
        kpi("acme", "logistics", "30d", "otif", 0.9, as_of=at(hours=1)),
        kpi("acme", "logistics", "30d", "otif", 0.97, as_of=at(days=3)),  # superseded
        kpi("acme", "logistics", "24h", "otif", None, as_of=at(hours=1)),  # no data in 24h now
        kpi("acme", "support", "7d", "sla_attainment", 0.95, as_of=at(hours=1)),
        kpi("acme", "billing", "30d", "dispute_rate", 0.2, as_of=at(hours=1)),
        kpi("acme", "support", "30d", "first_response_minutes_p50", 42.0, as_of=at(hours=1)),
    ]
    return rows


def alert_row(key: str, severity: str, status: str, *, started: datetime, updated: datetime,
              summary: str) -> tuple[Any, ...]:
    account, cp, rule = key.split(":")
    name, tier, owner, team, _, _ = ACCOUNTS[account]
    return (key, account, name, tier, owner, team, cp, rule, severity, status, summary, "{}",
            [], started, updated, *SOURCE)


def alert_rows() -> list[tuple[Any, ...]]:
    otif, csat = "acme:logistics:otif_below_7d", "acme:support:csat_bad"
    return [
        # acme: otif firing critical (after a warning state), a resolved one, a firing warning
        alert_row(otif, "warning", "firing", started=at(days=2), updated=at(days=2),
                  summary="OTIF below target"),
        alert_row(otif, "critical", "firing", started=at(days=2), updated=at(hours=3),
                  summary="OTIF 81.3% below 95%"),
        alert_row(csat, "warning", "firing", started=at(days=4), updated=at(days=4),
                  summary="CSAT 1 of 5"),
        alert_row(csat, "warning", "resolved", started=at(days=4), updated=at(days=3),
                  summary="CSAT 1 of 5"),
        alert_row("acme:billing:invoice_disputed", "warning", "firing", started=at(days=1),
                  updated=at(hours=5), summary="Invoice disputed: wrong price"),
        alert_row("initech:billing:payment_failed", "info", "firing", started=at(days=1),
                  updated=at(days=1), summary="Payment failed"),
        alert_row("umbrella:sales:x", "critical", "firing", started=at(days=1),
                  updated=at(days=1), summary="standard accounts are not on the board"),
    ]


def touchpoint_rows() -> list[tuple[Any, ...]]:
    def row(n: int, account: str, cp: str, event_type: str, *, when: datetime,
            bad: str | None = None) -> tuple[Any, ...]:
        name, tier, owner, team, score, _ = ACCOUNTS[account]
        return (f"e{n}", account, cp, event_type, when, "wms" if cp == "logistics" else "crm", 1,
                None, "{}", tier, name, owner, team, score, bad, when, *SOURCE)

    return [
        row(1, "acme", "logistics", "delivery_completed", when=at(hours=4), bad="late delivery"),
        row(2, "acme", "sales", "quote_sent", when=at(hours=6)),
        row(3, "acme", "support", "csat_submitted", when=at(days=4), bad="CSAT 1 of 5"),
        row(4, "globex", "logistics", "delivery_completed", when=at(hours=2)),
    ]


def seed(store: ChdbBackend) -> None:
    apply_migrations(store)
    for table, rows in (("accounts", account_rows()), ("kpi_snapshots", kpi_rows()),
                        ("alerts", alert_rows()), ("touchpoints", touchpoint_rows())):
        store.insert(table, COLUMNS[table], rows, dedup_token=None)


@contextmanager
def seeded_endpoint(path: Path) -> Iterator[Path]:
    """``path`` seeded and owned by this process, its SQL endpoint announced (read-only), as
    a running sink serves it; one chdb directory per process may be open at a time."""
    owner = ChdbBackend(path=path, database="kam")
    try:
        seed(owner)
        endpoint = QueryEndpoint(store=owner.reader(), port=0, announce=endpoint_file(path))
        endpoint.start()
        try:
            yield path
        finally:
            endpoint.stop()
    finally:
        owner.close()
