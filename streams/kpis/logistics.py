"""Logistics KPIs: OTIF, delivery delay, damage, failed deliveries and returns."""

from __future__ import annotations

from enum import IntEnum

from schemas.touchpoints import (
    ContactPoint,
    DeliveryCompleted,
    DeliveryFailed,
    ReturnReceived,
    Touchpoint,
)
from streams.kpis.spec import ContactPointSpec, Kpis, Observation, SlaTable, Totals, ratio


class C(IntEnum):
    DELIVERIES = 0
    ON_TIME = 1
    IN_FULL = 2
    OTIF = 3
    DELAY_S = 4
    DELIVERED_QTY = 5
    DAMAGED_QTY = 6
    FAILED = 7
    RETURNS = 8


def observe(event: Touchpoint, _sla: SlaTable) -> Observation | None:
    if isinstance(event, DeliveryCompleted):
        p = event.payload
        delay = (p.delivered_at - p.promised_at).total_seconds()
        on_time = int(delay <= 0)
        in_full = int(p.delivered_qty >= p.ordered_qty)
        return (
            (C.DELIVERIES, 1),
            (C.ON_TIME, on_time),
            (C.IN_FULL, in_full),
            (C.OTIF, on_time & in_full),
            (C.DELAY_S, max(0, int(delay))),
            (C.DELIVERED_QTY, p.delivered_qty),
            (C.DAMAGED_QTY, p.damaged_qty),
        ), ()
    if isinstance(event, DeliveryFailed):
        return ((C.FAILED, 1),), ()
    if isinstance(event, ReturnReceived):
        return ((C.RETURNS, 1),), ()
    return None


def kpis(t: Totals) -> Kpis:
    c = t.counts
    delay_s = ratio(c[C.DELAY_S], c[C.DELIVERIES])
    return {
        "otif": ratio(c[C.OTIF], c[C.DELIVERIES]),
        "delivery_delay_hours_avg": None if delay_s is None else delay_s / 3600,
        "damage_rate": ratio(c[C.DAMAGED_QTY], c[C.DELIVERED_QTY]),
        "failed_delivery_rate": ratio(c[C.FAILED], c[C.DELIVERIES] + c[C.FAILED]),
        "return_rate": ratio(c[C.RETURNS], c[C.DELIVERIES]),
    }


SPEC = ContactPointSpec(
    contact_point=ContactPoint.LOGISTICS,
    counters=C,
    histograms=(),
    observe=observe,
    kpis=kpis,
)
