"""Logistics KPIs against hand-worked examples."""

from __future__ import annotations

import pytest

from schemas.touchpoints import ContactPoint
from streams.kpis import ContactPointState, KpiConfig
from tests.unit.streams.test_kpi_events import at, delivery, event

CONFIG = KpiConfig()


def logistics_state(*events: object) -> ContactPointState:
    state = ContactPointState(contact_point=ContactPoint.LOGISTICS, config=CONFIG)
    for item in events:
        assert state.apply(item) == "applied"  # type: ignore[arg-type]
    return state


def test_otif_is_on_time_and_in_full_per_delivery() -> None:
    # GUIDE example: 95% on time x 90% in full = 85.5% OTIF, with 200 deliveries:
    # 171 on time & in full, 19 on time & short, 9 late & in full, 1 late & short
    # on time = 190/200 = 0.95, in full = 180/200 = 0.90, OTIF = 171/200 = 0.855
    events = (
        [delivery(at(hours=1)) for _ in range(171)]
        + [delivery(at(hours=2), delivered=8) for _ in range(19)]
        + [delivery(at(hours=3), late_hours=2) for _ in range(9)]
        + [delivery(at(hours=4), late_hours=2, delivered=8)]
    )
    snapshot = logistics_state(*events).snapshot(as_of=at(hours=5), window="24h")
    assert snapshot["otif"] == pytest.approx(0.855)
    # delay: 10 late deliveries x 2 h = 20 h over 200 deliveries = 0.1 h
    assert snapshot["delivery_delay_hours_avg"] == pytest.approx(0.1)


def test_delay_damage_failed_and_return_rates() -> None:
    state = logistics_state(
        delivery(at(hours=1), damaged=1),  # on time, in full: OTIF
        delivery(at(hours=2), late_hours=3),  # 3 h late
        delivery(at(hours=3), delivered=8),  # short: not in full
        delivery(at(hours=4), late_hours=1, damaged=1),  # 1 h late
        event("delivery_failed", at(hours=5), shipment_id="s5"),
        event("return_received", at(hours=6), shipment_id="s1", quantity=1),
        event("return_received", at(hours=7), shipment_id="s2", quantity=10),
    )
    assert state.snapshot(as_of=at(hours=8), window="24h") == {
        "otif": 0.25,  # 1 of 4
        "delivery_delay_hours_avg": 1.0,  # (0 + 3 + 0 + 1) / 4
        "damage_rate": 2 / 38,  # damaged 1 + 1 over delivered 10 + 10 + 8 + 10
        "failed_delivery_rate": 0.2,  # 1 failed / (4 completed + 1 failed)
        "return_rate": 0.5,  # 2 returns / 4 deliveries
    }


def test_early_delivery_is_on_time_without_negative_delay() -> None:
    state = logistics_state(delivery(at(hours=1), late_hours=-5))
    snapshot = state.snapshot(as_of=at(hours=1), window="1h")
    assert snapshot["otif"] == 1.0
    assert snapshot["delivery_delay_hours_avg"] == 0.0


def test_no_data_gives_none_and_dispatch_is_ignored() -> None:
    state = ContactPointState(contact_point=ContactPoint.LOGISTICS, config=CONFIG)
    dispatched = event("shipment_dispatched", at(), shipment_id="s", promised_at=at(days=1))
    assert state.apply(dispatched) == "ignored"
    assert state.hwm is None
    assert set(state.snapshot(as_of=at(), window="30d").values()) == {None}
