"""The fairness configuration (``config/fairness.toml``, validated by pydantic): treatment-gap
rules, where their alerts go, and the reciprocity review's horizon, weights and thresholds.

Read once per command (``KAM_FAIRNESS_CONFIG_PATH``); see docs/alert-rules.md (treatment
gaps) and docs/tiering.md (reciprocity review).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kam.errors import KamError
from producers.tiering import LinearScale, LogScale
from schemas.alerts import Severity
from schemas.touchpoints import ContactPoint
from streams.alerting.kpis import KPIS
from streams.kpis import KPI_NAMES

_NAME = re.compile(r"^[a-z0-9_]+$")
Signal = Literal["billing", "billing_trend", "punctuality", "order_growth", "csat", "nps"]
Cost = Literal["ticket", "escalation", "dispute", "credit_note", "failed_delivery", "return"]
SIGNALS: tuple[Signal, ...] = (
    "billing", "billing_trend", "punctuality", "order_growth", "csat", "nps",
)  # fmt: skip
COSTS: tuple[Cost, ...] = (
    "ticket", "escalation", "dispute", "credit_note", "failed_delivery", "return",
)  # fmt: skip


class FairnessConfigError(KamError):
    """The fairness configuration is unreadable or invalid."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GapAlerts(_Frozen):
    """Identity and pace of treatment-gap alerts: they are about the portfolio, not one
    account, and go to the KAM director's route (``kam_team`` matched in the routing file)."""

    account_id: str = Field(default="portfolio", min_length=1)
    account_name: str = "Strategic accounts vs standard"
    kam_team: str = Field(default="kam-director", min_length=1)
    kam_owner: str | None = None
    repeat_interval_hours: float = Field(default=24.0, gt=0)


class GapRule(_Frozen):
    """Strategic accounts must be served better than standard ones on one KPI.

    The gap is strategic minus standard, signed so that positive means strategic accounts
    are served better (``KPIS[kpi].better``). The rule is broken when the gap is at or below
    ``min_gap`` (KPI units) or, with ``min_relative_gap``, when gap / |standard| is at or below
    it; ``critical_at_or_below`` (same measure) makes it critical. A firing alert resolves once
    the measure is above the minimum by more than ``hysteresis``.
    """

    name: str
    contact_point: ContactPoint
    kpi: str
    window: str = "7d"
    min_gap: float | None = None
    min_relative_gap: float | None = None
    critical_at_or_below: float | None = None
    hysteresis: float = Field(default=0.0, ge=0)
    min_accounts: int = Field(default=1, ge=1)
    """Accounts with a value needed in each of the strategic and standard tiers."""
    severity: Severity = Severity.WARNING

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not _NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r}: use lowercase letters, digits and _")
        if self.kpi not in KPI_NAMES[self.contact_point] or self.kpi not in KPIS:
            raise ValueError(f"{self.kpi!r} is not a {self.contact_point.value} KPI")
        if (self.min_gap is None) == (self.min_relative_gap is None):
            raise ValueError("set exactly one of min_gap and min_relative_gap")
        if self.critical_at_or_below is not None and self.critical_at_or_below > self.minimum:
            raise ValueError("critical_at_or_below must not exceed the minimum gap")
        return self

    @property
    def relative(self) -> bool:
        return self.min_relative_gap is not None

    @property
    def minimum(self) -> float:
        value = self.min_relative_gap if self.relative else self.min_gap
        assert value is not None  # the validator guarantees one of them
        return value

    @property
    def rule_id(self) -> str:
        """The alert rule name (``rule`` of the alert, part of its key)."""
        return f"treatment_gap_{self.name}"


class TreatmentGapConfig(_Frozen):
    alerts: GapAlerts = GapAlerts()
    rules: tuple[GapRule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("treatment-gap rule names must be unique")
        return self


def _linear(low: float, high: float) -> LinearScale:
    return LinearScale(scale="linear", low=low, high=high)


_WEIGHTS: dict[Signal, float] = {
    "billing": 0.3, "billing_trend": 0.15, "punctuality": 0.2, "order_growth": 0.15,
    "csat": 0.1, "nps": 0.1,
}
_COSTS: dict[Cost, float] = {
    "ticket": 1.0, "escalation": 3.0, "dispute": 3.0, "credit_note": 2.0,
    "failed_delivery": 2.0, "return": 2.0,
}


def _default_scales() -> dict[Signal, LinearScale | LogScale]:
    return {
        "billing": LogScale(scale="log", low=10_000, high=100_000_000),
        "billing_trend": _linear(-0.5, 0.5),
        "punctuality": _linear(0, 1),
        "order_growth": _linear(-0.5, 0.5),
        "csat": _linear(0.5, 1),
        "nps": _linear(-100, 100),
    }


class ReviewConfig(_Frozen):
    """How the reciprocity review scores an account over ``horizon_days`` (docs/tiering.md).

    Value: each observed signal normalised to 0-100 (``scales``), averaged with ``weights``
    over the signals observed. Cost to serve: ``costs`` units per event, per 100 k EUR billed
    in the horizon, normalised linearly from 0 to ``cost_high`` (100 = costliest). Reciprocity
    = (1 - cost_weight) x value + cost_weight x (100 - cost), 0-100, 2 decimals.
    """

    horizon_days: int = Field(default=90, ge=2)
    min_events: int = Field(default=20, ge=1)
    min_observations: int = Field(default=5, ge=1)
    """Payments, CSAT answers, NPS answers or first-half orders a signal needs to count."""
    poor_below: float = Field(default=50.0, ge=0, le=100)
    candidate_at_or_above: float = Field(default=85.0, ge=0, le=100)
    candidate_billing_share: float = Field(default=1.0, ge=0)
    """A candidate also bills (annualised) at least this share of the median strategic account
    judged in the same review: it brings business like them (0: no such condition)."""
    cost_weight: float = Field(default=0.4, ge=0, le=1)
    cost_high: float = Field(default=5.0, gt=0)
    weights: dict[Signal, float] = Field(default_factory=lambda: dict(_WEIGHTS))
    scales: dict[Signal, LinearScale | LogScale] = Field(default_factory=_default_scales)
    costs: dict[Cost, float] = Field(default_factory=lambda: dict(_COSTS))

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if set(self.weights) != set(SIGNALS) or any(w < 0 for w in self.weights.values()):
            raise ValueError(f"weights needs a weight >= 0 for each of {list(SIGNALS)}")
        if set(self.scales) != set(SIGNALS):
            raise ValueError(f"scales needs a scale for each of {list(SIGNALS)}")
        if set(self.costs) != set(COSTS) or any(c < 0 for c in self.costs.values()):
            raise ValueError(f"costs needs units >= 0 for each of {list(COSTS)}")
        if self.poor_below > self.candidate_at_or_above:
            raise ValueError("poor_below must not exceed candidate_at_or_above")
        return self


class FairnessConfig(_Frozen):
    treatment_gap: TreatmentGapConfig = TreatmentGapConfig()
    review: ReviewConfig = ReviewConfig()


def parse_fairness_config(data: Mapping[str, object]) -> FairnessConfig:
    """Validate a configuration mapping (as read from TOML)."""
    try:
        return FairnessConfig.model_validate(data)
    except ValidationError as exc:
        issues = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise FairnessConfigError(f"invalid fairness configuration: {issues}") from exc


def load_fairness_config(path: Path) -> FairnessConfig:
    """Read and validate the TOML file (``KAM_FAIRNESS_CONFIG_PATH``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FairnessConfigError(f"cannot read fairness configuration {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FairnessConfigError(f"fairness configuration {path} is not TOML: {exc}") from exc
    return parse_fairness_config(data)
