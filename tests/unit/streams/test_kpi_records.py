"""Flat KPI records in the shape of the kpi_snapshots table."""

from __future__ import annotations

from schemas.touchpoints import ContactPoint
from streams.kpis import AccountHealth, health_records, kpi_records
from tests.unit.streams.test_kpi_events import at


def test_kpi_records_skip_kpis_without_value() -> None:
    records = kpi_records(
        account_id="acme",
        contact_point=ContactPoint.LOGISTICS,
        window="7d",
        snapshot={"otif": 0.9, "damage_rate": None, "return_rate": 0},
        computed_at=at(hours=12),
    )
    base = {"account_id": "acme", "contact_point": "logistics", "window": "7d"}
    when = {"computed_at": "2026-03-01T12:00:00+00:00"}
    assert records == [
        {**base, "kpi": "otif", "value": 0.9, **when},
        {**base, "kpi": "return_rate", "value": 0.0, **when},
    ]


def test_health_records_per_contact_point_and_overall() -> None:
    health = AccountHealth(
        score=70.0,
        band="amber",
        worst_of_poor=True,
        poor_contact_points=(ContactPoint.SUPPORT,),
        contact_point_scores={ContactPoint.LOGISTICS: 90.0, ContactPoint.SUPPORT: 50.0,
                              ContactPoint.BILLING: None},
    )  # fmt: skip
    records = health_records(account_id="acme", window="30d", health=health, computed_at=at())
    assert [(r["contact_point"], r["kpi"], r["value"]) for r in records] == [
        ("logistics", "experience_score", 90.0),
        ("support", "experience_score", 50.0),
        ("overall", "experience_score", 70.0),
    ]
