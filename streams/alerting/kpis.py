"""The KPI names the alert rules may refer to, with what "better" means and how to print them.

The names are the fixed strings the KPI engine publishes in its snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["ratio", "hours", "minutes", "days", "score", "nps"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class KpiInfo:
    """How to read one KPI: its label, unit, good direction and a material change of value."""

    label: str
    unit: Unit
    better: Better
    material_change: float
    """Default move of the value that makes a firing alert worth an update."""


def _ratio(label: str, better: Better, change: float = 0.02) -> KpiInfo:
    return KpiInfo(label, "ratio", better, change)


KPIS: dict[str, KpiInfo] = {
    "otif": _ratio("OTIF", "higher"),
    "delivery_delay_hours_avg": KpiInfo("average delivery delay", "hours", "lower", 2.0),
    "damage_rate": _ratio("damage rate", "lower", 0.01),
    "failed_delivery_rate": _ratio("failed delivery rate", "lower", 0.01),
    "return_rate": _ratio("return rate", "lower", 0.01),
    "first_response_minutes_p50": KpiInfo("median first response", "minutes", "lower", 15.0),
    "first_response_minutes_p90": KpiInfo("p90 first response", "minutes", "lower", 15.0),
    "resolution_minutes_p50": KpiInfo("median resolution time", "minutes", "lower", 60.0),
    "resolution_minutes_p90": KpiInfo("p90 resolution time", "minutes", "lower", 60.0),
    "sla_attainment": _ratio("support SLA attainment", "higher"),
    "csat_satisfied_rate": _ratio("CSAT satisfied rate", "higher"),
    "csat_avg": KpiInfo("average CSAT", "score", "higher", 0.2),
    "nps": KpiInfo("NPS", "nps", "higher", 5.0),
    "reopen_rate": _ratio("ticket reopen rate", "lower"),
    "escalation_rate": _ratio("ticket escalation rate", "lower"),
    "invoice_accuracy": _ratio("invoice accuracy", "higher", 0.01),
    "dispute_rate": _ratio("invoice dispute rate", "lower", 0.01),
    "dispute_resolution_days_avg": KpiInfo("average dispute resolution", "days", "lower", 1.0),
    "late_payment_rate": _ratio("late payment rate", "lower"),
    "days_late_avg": KpiInfo("average days paid late", "days", "lower", 1.0),
    "payment_failure_rate": _ratio("payment failure rate", "lower", 0.01),
    "quote_turnaround_hours_avg": KpiInfo("average quote turnaround", "hours", "lower", 2.0),
    "order_confirmation_hours_avg": KpiInfo("average order confirmation", "hours", "lower", 1.0),
    "supplier_cancellation_rate": _ratio("supplier cancellation rate", "lower", 0.01),
    "days_since_executive_contact": KpiInfo("days since executive contact", "days", "lower", 7.0),
    "experience_score": KpiInfo("experience score", "score", "higher", 5.0),
}


def format_value(kpi: str, value: float) -> str:
    """A KPI value in words: ``0.912`` OTIF is ``91.2%``, ``5.25`` hours is ``5.2 h``."""
    unit = KPIS[kpi].unit
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "minutes":
        return f"{value:.0f} min"
    if unit == "days":
        return f"{value:.0f} days"
    if unit == "nps":
        return f"{value:+.0f}"
    return f"{value:.1f}"


def format_change(kpi: str, change: float) -> str:
    """A difference between two values of a KPI: percentage points for ratios."""
    unit = KPIS[kpi].unit
    if unit == "ratio":
        return f"{change * 100:.1f} percentage points"
    if unit in {"score", "nps"}:
        return f"{change:.1f} points"
    return format_value(kpi, change)
