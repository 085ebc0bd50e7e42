"""What a contact point's KPI state counts, and how counts become KPIs.

Each contact point module declares integer counters (an ``IntEnum``), optional duration
histograms, an ``observe`` function turning one event into counter increments, and a ``kpis``
function turning window totals into named KPI values. Durations are summed in whole seconds,
so averages are exact to the second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from schemas.touchpoints import ContactPoint, Touchpoint

Deltas = tuple[tuple[int, int], ...]
"""``(counter index, increment)`` pairs."""
Samples = tuple[tuple[int, int], ...]
"""``(histogram index, duration in minutes)`` pairs."""
Observation = tuple[Deltas, Samples]
SlaTable = Mapping[str, tuple[int, int]]
"""Priority -> (first response, resolution) targets in seconds."""
Kpis = dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Totals:
    """Counters and histograms summed over one window, plus window-free facts."""

    counts: list[int]
    hists: list[dict[int, int]]
    as_of: int
    last_executive_at: int | None


@dataclass(frozen=True, slots=True)
class ContactPointSpec:
    contact_point: ContactPoint
    counters: type[IntEnum]
    histograms: tuple[str, ...]
    observe: Callable[[Touchpoint, SlaTable], Observation | None]
    """Counter increments for one event; ``None`` when the event feeds no KPI."""
    kpis: Callable[[Totals], Kpis]

    def kpi_names(self) -> tuple[str, ...]:
        """The KPI names this contact point publishes, in order."""
        empty = Totals([0] * len(self.counters), [{} for _ in self.histograms], 0, None)
        return tuple(self.kpis(empty))


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def seconds_between(later: datetime, earlier: datetime) -> int:
    """Whole seconds from ``earlier`` to ``later``, never negative (clock skew -> 0)."""
    return max(0, int((later - earlier).total_seconds()))
