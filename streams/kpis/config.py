"""Configuration of the KPI engine: windows, bucket tiers, support SLAs and score anchors."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.sla import SUPPORT_SLA_MINUTES
from schemas.touchpoints import ContactPoint, Priority
from streams.kpis.catalogue import KPI_NAMES

_D = 86400


class BucketTier(BaseModel):
    """Event-time buckets of one width, kept for ``retention`` behind the high-water mark."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    granularity: timedelta
    retention: timedelta

    @property
    def granularity_s(self) -> int:
        return int(self.granularity.total_seconds())

    @property
    def slots(self) -> int:
        return int(self.retention.total_seconds()) // self.granularity_s

    @model_validator(mode="after")
    def _whole_buckets(self) -> Self:
        g, r = self.granularity.total_seconds(), self.retention.total_seconds()
        if g < 1 or g != int(g) or r < g or r % g:
            raise ValueError("granularity must be whole seconds and divide retention")
        if r // g > 10_000:
            raise ValueError("a tier holds at most 10,000 buckets")
        return self


class SlaTarget(BaseModel):
    """Support targets of one ticket priority."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response: timedelta
    resolution: timedelta


class KpiScoring(BaseModel):
    """How one KPI feeds the experience score: weight and piecewise-linear anchors.

    ``anchors`` are ``(kpi value, score 0-100)`` points with increasing KPI values; the score
    is interpolated between them and held flat beyond the first and last.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(gt=0)
    anchors: tuple[tuple[float, float], ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _monotone(self) -> Self:
        xs = [x for x, _ in self.anchors]
        if any(b <= a for a, b in pairwise(xs)):
            raise ValueError("anchor KPI values must be strictly increasing")
        if any(not 0 <= y <= 100 for _, y in self.anchors):
            raise ValueError("anchor scores must be within 0-100")
        return self


def _k(weight: float, *anchors: tuple[float, float]) -> KpiScoring:
    return KpiScoring(weight=weight, anchors=anchors)


DEFAULT_SCORING: dict[ContactPoint, dict[str, KpiScoring]] = {
    ContactPoint.LOGISTICS: {
        "otif": _k(0.40, (0.75, 0), (0.85, 50), (0.95, 100)),
        "delivery_delay_hours_avg": _k(0.15, (0, 100), (24, 50), (72, 0)),
        "damage_rate": _k(0.15, (0, 100), (0.02, 50), (0.05, 0)),
        "failed_delivery_rate": _k(0.15, (0, 100), (0.05, 50), (0.15, 0)),
        "return_rate": _k(0.15, (0, 100), (0.05, 50), (0.15, 0)),
    },
    ContactPoint.SUPPORT: {
        "sla_attainment": _k(0.35, (0.70, 0), (0.85, 50), (0.95, 100)),
        "csat_satisfied_rate": _k(0.20, (0.60, 0), (0.77, 50), (0.85, 100)),
        "nps": _k(0.15, (-50, 0), (0, 50), (50, 100)),
        "reopen_rate": _k(0.15, (0, 100), (0.10, 50), (0.25, 0)),
        "escalation_rate": _k(0.15, (0, 100), (0.10, 50), (0.30, 0)),
    },
    ContactPoint.BILLING: {
        "invoice_accuracy": _k(0.35, (0.90, 0), (0.95, 50), (0.99, 100)),
        "dispute_rate": _k(0.20, (0, 100), (0.05, 50), (0.15, 0)),
        "dispute_resolution_days_avg": _k(0.15, (2, 100), (7, 50), (30, 0)),
        "late_payment_rate": _k(0.15, (0, 100), (0.20, 50), (0.50, 0)),
        "payment_failure_rate": _k(0.15, (0, 100), (0.05, 50), (0.20, 0)),
    },
    ContactPoint.SALES: {
        "quote_turnaround_hours_avg": _k(0.25, (4, 100), (24, 50), (72, 0)),
        "order_confirmation_hours_avg": _k(0.20, (1, 100), (8, 50), (24, 0)),
        "supplier_cancellation_rate": _k(0.25, (0, 100), (0.02, 50), (0.10, 0)),
        "days_since_executive_contact": _k(0.30, (30, 100), (60, 50), (90, 0)),
    },
}
"""Default anchors: 100 = best practice (e.g. OTIF 95%+), 50 = typical/concerning, 0 = failing."""


class ScoreConfig(BaseModel):
    """Experience score: per-KPI scoring, contact-point weights, worst-of threshold, bands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpis: dict[ContactPoint, dict[str, KpiScoring]] = Field(default_factory=lambda: DEFAULT_SCORING)
    contact_point_weights: dict[ContactPoint, float] = Field(
        default_factory=lambda: dict.fromkeys(ContactPoint, 1.0)
    )
    poor_threshold: float = Field(default=60.0, ge=0, le=100)
    """A contact point scoring below this makes the whole account ``worst_of_poor``."""
    green_min: float = Field(default=80.0, ge=0, le=100)
    amber_min: float = Field(default=60.0, ge=0, le=100)
    window: str = "30d"
    """The snapshot window the score is meant to be computed on."""

    @model_validator(mode="after")
    def _bands(self) -> Self:
        if self.amber_min > self.green_min:
            raise ValueError("amber_min must not exceed green_min")
        for contact_point, kpis in self.kpis.items():
            unknown = set(kpis) - set(KPI_NAMES[contact_point])
            if unknown:
                raise ValueError(f"not {contact_point} KPIs: {sorted(unknown)}")
        return self


def _default_sla() -> dict[Priority, SlaTarget]:
    return {
        priority: SlaTarget(
            first_response=timedelta(minutes=reply), resolution=timedelta(minutes=resolve)
        )
        for priority, (reply, resolve) in SUPPORT_SLA_MINUTES.items()
    }


def _default_tiers() -> tuple[BucketTier, ...]:
    return (
        BucketTier(granularity=timedelta(minutes=5), retention=timedelta(hours=1)),
        BucketTier(granularity=timedelta(hours=1), retention=timedelta(hours=24)),
        BucketTier(granularity=timedelta(days=1), retention=timedelta(days=30)),
    )


class KpiConfig(BaseModel):
    """Everything the KPI engine needs; build once and share between states.

    Each window is served by the finest tier whose granularity divides it and whose retention
    covers it; the longest retention decides which events are too late.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows: dict[str, timedelta] = Field(
        default_factory=lambda: {
            "1h": timedelta(hours=1),
            "24h": timedelta(hours=24),
            "7d": timedelta(days=7),
            "30d": timedelta(days=30),
        }
    )
    tiers: tuple[BucketTier, ...] = Field(default_factory=_default_tiers, min_length=1)
    sla: dict[Priority, SlaTarget] = Field(default_factory=_default_sla)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    max_future_skew: timedelta = timedelta(hours=1)
    """With a ``now`` given to ``apply``, events further ahead are ``too_early``."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in self.windows:
            self.tier_of(name)
        if set(self.sla) != set(Priority):
            raise ValueError("the SLA table needs a target for every priority")
        if self.score.window not in self.windows:
            raise ValueError(f"score window {self.score.window!r} is not a configured window")
        return self

    def tier_of(self, window: str) -> int:
        """Index of the tier serving ``window`` (the finest one that can)."""
        seconds = int(self.windows[window].total_seconds())
        fitting = [
            (tier.granularity_s, index)
            for index, tier in enumerate(self.tiers)
            if seconds % tier.granularity_s == 0 and seconds <= tier.slots * tier.granularity_s
        ]
        if not fitting:
            raise ValueError(f"no bucket tier can serve window {window!r}")
        return min(fitting)[1]

    @cached_property
    def sla_seconds(self) -> dict[str, tuple[int, int]]:
        """Priority -> (first response, resolution) targets in seconds."""
        return {
            str(p): (int(t.first_response.total_seconds()), int(t.resolution.total_seconds()))
            for p, t in self.sla.items()
        }

    @cached_property
    def layout(self) -> tuple[tuple[int, int], ...]:
        """Per tier ``(granularity seconds, slots)``."""
        return tuple((tier.granularity_s, tier.slots) for tier in self.tiers)

    @cached_property
    def window_plan(self) -> dict[str, tuple[int, int, int, int]]:
        """Window name -> ``(tier index, granularity seconds, slots, buckets it spans)``."""
        plan = {}
        for window, length in self.windows.items():
            tier = self.tier_of(window)
            granularity, slots = self.layout[tier]
            plan[window] = (tier, granularity, slots, int(length.total_seconds()) // granularity)
        return plan

    @cached_property
    def window_tiers(self) -> dict[str, int]:
        """Window name -> index of the tier serving it."""
        return {window: self.tier_of(window) for window in self.windows}


def load_kpi_config(path: Path | None) -> KpiConfig:
    """A :class:`KpiConfig` from a JSON file (``KAM_KPI_CONFIG_PATH``), or the defaults.

    Fields left out keep their defaults; a given ``score.kpis`` replaces the default scoring
    table as a whole.
    """
    return KpiConfig() if path is None else KpiConfig.model_validate_json(path.read_bytes())
