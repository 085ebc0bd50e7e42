"""Account tiering: a pure weighted-criteria model of account attractiveness.

Each configured criterion is normalised to 0-100, multiplied by its weight (weights sum to 1)
and summed to a 0-100 attractiveness score; thresholds cut the score into tiers (a score
exactly at a threshold gets the higher tier). A manual override with a non-empty reason wins
over the score. Configuration lives in ``config/tiering.toml``; see ``docs/tiering.md``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from kam.errors import KamError
from schemas.account_status import CriterionContribution
from schemas.accounts import Account, AccountTier, TierOverride

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "tiering.toml"
WEIGHT_TOLERANCE = 1e-3
"""How far the sum of the weights may be from 1 (allows three weights of 0.333)."""
SCORE_DECIMALS = 2
"""The score is rounded to this many decimals before it is compared with the thresholds."""

Criterion = Literal[
    "size",
    "purchase_volume",
    "billing_volume",
    "growth_potential",
    "industry_weight",
    "influence",
    "current_profitability",
    "potential_profitability",
    "target_segment",
]
CRITERION_FIELDS: dict[str, str] = {
    "size": "annual_revenue_eur",
    "purchase_volume": "purchase_volume_12m_eur",
    "billing_volume": "billing_volume_12m_eur",
    "growth_potential": "growth_potential",
    "industry_weight": "industry_weight",
    "influence": "influence",
    "current_profitability": "current_profitability_pct",
    "potential_profitability": "potential_profitability_pct",
    "target_segment": "segment",
}
"""Which ``schemas.Account`` field feeds each criterion."""
MissingPolicy = Literal["zero", "renormalise"]
ScoredTier = Literal[AccountTier.STRATEGIC, AccountTier.KEY, AccountTier.STANDARD]
CriterionValue = float | str | None


class TieringError(KamError):
    """Base of the tiering model's errors."""


class TieringConfigError(TieringError):
    """The tiering configuration is unreadable or invalid."""


class WeightSumError(TieringConfigError):
    """The criteria weights do not sum to 1."""

    def __init__(self, total: float) -> None:
        self.total = total
        super().__init__(
            f"criteria weights sum to {total:.6g}, expected 1 (tolerance {WEIGHT_TOLERANCE})"
        )


class OverrideError(TieringError):
    """A manual tier override is incomplete: it needs a tier, a non-empty reason and who."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearScale(_Frozen):
    """``low`` maps to 0, ``high`` to 100, linear in between, clamped outside."""

    scale: Literal["linear"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> LinearScale:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def normalise(self, value: float) -> float:
        return _clamp((value - self.low) / (self.high - self.low))


class LogScale(_Frozen):
    """Like linear on ``log10(value)``: for money spanning orders of magnitude."""

    scale: Literal["log"]
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LogScale:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def normalise(self, value: float) -> float:
        if value <= self.low:
            return 0.0
        span = math.log10(self.high) - math.log10(self.low)
        return _clamp((math.log10(value) - math.log10(self.low)) / span)


class SetScale(_Frozen):
    """100 when the value is one of ``values`` (case-insensitive), else 0."""

    scale: Literal["set"]
    values: tuple[str, ...] = Field(min_length=1)

    def normalise(self, value: str) -> float:
        return 100.0 if value.casefold() in {v.casefold() for v in self.values} else 0.0


Scale = Annotated[LinearScale | LogScale | SetScale, Field(discriminator="scale")]


class CriterionConfig(_Frozen):
    weight: float = Field(gt=0, le=1)
    normalisation: Scale


class Thresholds(_Frozen):
    """Lowest scores of the strategic and key tiers (inclusive)."""

    strategic: float = Field(gt=0, le=100)
    key: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.key < self.strategic:
            raise ValueError(f"key ({self.key}) must be below strategic ({self.strategic})")
        return self

    def tier_of(self, score: float) -> ScoredTier:
        if score >= self.strategic:
            return AccountTier.STRATEGIC
        if score >= self.key:
            return AccountTier.KEY
        return AccountTier.STANDARD


class TieringConfig(_Frozen):
    """The whole model: version, thresholds, missing-criteria policy, weighted criteria."""

    model_version: str = Field(min_length=1)
    missing_policy: MissingPolicy = "zero"
    thresholds: Thresholds
    criteria: dict[Criterion, CriterionConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TieringConfig:
        for name, criterion in self.criteria.items():
            is_set = isinstance(criterion.normalisation, SetScale)
            if is_set != (name == "target_segment"):
                raise ValueError(
                    f"criterion {name}: scale {criterion.normalisation.scale!r} does not fit; "
                    "target_segment takes 'set', every other criterion 'linear' or 'log'"
                )
        total = math.fsum(c.weight for c in self.criteria.values())
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise WeightSumError(total)  # not a ValueError: pydantic lets it through as is
        return self


class TierDecision(_Frozen):
    """Why an account has its tier: the score, each criterion's part, and any override."""

    account_id: str
    tier: AccountTier
    scored_tier: AccountTier
    score: float = Field(ge=0, le=100)
    contributions: tuple[CriterionContribution, ...]
    missing: tuple[str, ...]
    override: TierOverride | None
    reason: str
    decided_at: AwareDatetime
    model_version: str


def parse_tiering_config(data: Mapping[str, object]) -> TieringConfig:
    """Validate a configuration mapping (as read from TOML)."""
    try:
        return TieringConfig.model_validate(data)
    except ValidationError as exc:
        issues = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise TieringConfigError(f"invalid tiering configuration: {issues}") from exc


def load_tiering_config(path: Path = DEFAULT_CONFIG_PATH) -> TieringConfig:
    """Read and validate the TOML configuration file."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise TieringConfigError(f"cannot read tiering configuration {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TieringConfigError(f"tiering configuration {path} is not TOML: {exc}") from exc
    return parse_tiering_config(data)


def manual_override(
    *, tier: AccountTier | str, reason: str | None, by: str | None, at: datetime
) -> TierOverride:
    """A validated manual override; raises :class:`OverrideError` when incomplete."""
    if not reason or not reason.strip():
        raise OverrideError("a tier override needs a non-empty reason")
    if not by or not by.strip():
        raise OverrideError("a tier override needs who decided it")
    try:
        chosen = AccountTier(tier)
    except ValueError:
        chosen = AccountTier.UNKNOWN
    if chosen is AccountTier.UNKNOWN:
        raise OverrideError(f"cannot override to tier {tier!r}: use strategic, key or standard")
    return TierOverride(tier=chosen, reason=reason.strip(), by=by.strip(), at=at)


def criteria_values(account: Account) -> dict[str, CriterionValue]:
    """The account's raw value of every criterion (``None`` when missing)."""
    return {name: getattr(account, field) for name, field in CRITERION_FIELDS.items()}


def decide_tier(
    account_id: str,
    values: Mapping[str, CriterionValue],
    *,
    config: TieringConfig,
    decided_at: datetime,
    override: TierOverride | None = None,
) -> TierDecision:
    """Score the criteria values and pick the tier (the override, when given, wins)."""
    missing = tuple(name for name in config.criteria if _is_missing(values.get(name)))
    present_weight = math.fsum(
        c.weight for name, c in config.criteria.items() if name not in missing
    )
    contributions = tuple(
        _contribution(name, values.get(name), criterion, config, present_weight)
        for name, criterion in config.criteria.items()
    )
    score = round(math.fsum(c.contribution for c in contributions), SCORE_DECIMALS)
    score = min(score, 100.0)
    scored_tier = config.thresholds.tier_of(score)
    return TierDecision(
        account_id=account_id,
        tier=override.tier if override else scored_tier,
        scored_tier=scored_tier,
        score=score,
        contributions=contributions,
        missing=missing,
        override=override,
        reason=_reason(score, scored_tier, missing, override, config),
        decided_at=decided_at,
        model_version=config.model_version,
    )


def decide_account_tier(
    account: Account, *, config: TieringConfig, decided_at: datetime
) -> TierDecision:
    """:func:`decide_tier` on an account's master data and its override in force."""
    return decide_tier(
        account.account_id,
        criteria_values(account),
        config=config,
        decided_at=decided_at,
        override=account.tier_override,
    )


def _contribution(
    name: str,
    value: CriterionValue,
    criterion: CriterionConfig,
    config: TieringConfig,
    present_weight: float,
) -> CriterionContribution:
    if value is None or _is_missing(value):
        return CriterionContribution(
            criterion=name, value=None, normalised=None, weight=criterion.weight,
            effective_weight=0.0 if config.missing_policy == "renormalise" else criterion.weight,
            contribution=0.0,
        )
    scale = criterion.normalisation
    if isinstance(scale, SetScale):
        normalised = scale.normalise(str(value))
    else:
        normalised = scale.normalise(float(value))
    effective = criterion.weight
    if config.missing_policy == "renormalise":
        effective = criterion.weight / present_weight
    return CriterionContribution(
        criterion=name, value=value, normalised=normalised, weight=criterion.weight,
        effective_weight=min(effective, 1.0), contribution=min(effective * normalised, 100.0),
    )


def _reason(
    score: float,
    scored_tier: AccountTier,
    missing: tuple[str, ...],
    override: TierOverride | None,
    config: TieringConfig,
) -> str:
    limits = config.thresholds
    if scored_tier is AccountTier.STRATEGIC:
        text = f"score {score:.2f} >= strategic threshold {limits.strategic:.2f}"
    elif scored_tier is AccountTier.KEY:
        text = (
            f"score {score:.2f} >= key threshold {limits.key:.2f} "
            f"and < strategic threshold {limits.strategic:.2f}"
        )
    else:
        text = f"score {score:.2f} < key threshold {limits.key:.2f}"
    if missing:
        how = "counted as 0" if config.missing_policy == "zero" else "weights re-normalised"
        text += f"; missing {', '.join(missing)} ({how})"
    if override:
        text = (
            f"manual override to {override.tier.value} by {override.by} "
            f"at {override.at.isoformat()}: {override.reason} (model: {scored_tier.value}, {text})"
        )
    return text


def _is_missing(value: CriterionValue) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return math.isnan(value)


def _clamp(fraction: float) -> float:
    return 100.0 * min(max(fraction, 0.0), 1.0)
