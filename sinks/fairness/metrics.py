"""Prometheus gauges of the treatment gap (set by ``kam fairness check`` on every pass)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from prometheus_client import Gauge

from sinks.fairness.gaps import TIERS, TierValues

GAP = Gauge(
    "kam_treatment_gap",
    "Strategic minus standard accounts' mean latest KPI value, positive when strategic accounts"
    " are served better (NaN: a tier has no value)",
    ["contact_point", "kpi", "window"],
)
TIER_VALUE = Gauge(
    "kam_treatment_gap_tier_value",
    "Mean latest KPI value over the accounts of one tier (NaN: no account has a value)",
    ["contact_point", "kpi", "window", "tier"],
)


def _number(value: float | None) -> float:
    return math.nan if value is None else value


def observe(rows: Iterable[TierValues]) -> None:
    """Set the gauges from the current rows of ``treatment_gap``."""
    for row in rows:
        labels = (row.contact_point, row.kpi, row.window)
        GAP.labels(*labels).set(_number(row.gap))
        for tier in TIERS:
            TIER_VALUE.labels(*labels, tier.value).set(_number(row.values.get(tier)))
