"""Alert rules configuration: ``config/alert_rules.toml`` read with tomllib into frozen models.

Event-level rules and the lifecycle have code defaults (the ones documented in
``docs/alert-rules.md``); KPI thresholds exist only per alerting tier in the file. A tier's
``[tiers.<tier>.events]`` table overrides single settings of the global ``[events]`` table.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas import ALERTING_TIERS, AccountTier, Priority, Severity
from schemas.sla import SUPPORT_SLA_MINUTES
from streams.alerting.exceptions import AlertRulesError
from streams.alerting.kpis import KPIS

EventRuleId = Literal[
    "late_delivery",
    "short_delivery",
    "damaged_goods",
    "failed_delivery",
    "return_received",
    "first_response_sla_breach",
    "resolution_sla_breach",
    "ticket_reopened",
    "ticket_escalated",
    "low_csat",
    "nps_detractor",
    "invoice_disputed",
    "payment_failed",
    "credit_note_error",
    "supplier_cancellation",
    "slow_quote",
    "slow_order_confirmation",
]
EVENT_RULE_IDS: tuple[str, ...] = get_args(EventRuleId)

Direction = Literal["below", "above"]
Window = Annotated[str, Field(pattern=r"^[1-9][0-9]*[mhdw]$")]
"""A KPI window label as the KPI engine names it: ``24h``, ``7d``, ``30d``."""
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaTarget(_Frozen):
    """Support SLA of one ticket priority, in minutes from the ticket's opening."""

    first_response_minutes: Positive
    resolution_minutes: Positive

    @model_validator(mode="after")
    def _resolution_after_response(self) -> Self:
        if self.resolution_minutes < self.first_response_minutes:
            raise ValueError("resolution_minutes must not be shorter than first_response_minutes")
        return self


DEFAULT_SLA: dict[Priority, SlaTarget] = {
    priority: SlaTarget(first_response_minutes=reply, resolution_minutes=resolve)
    for priority, (reply, resolve) in SUPPORT_SLA_MINUTES.items()
}


class EventRules(_Frozen):
    """When a single touchpoint is a bad experience, and how bad."""

    disabled: frozenset[EventRuleId] = frozenset()
    severity: dict[EventRuleId, Severity] = Field(default_factory=dict)
    """Base severity overrides per rule; escalation to critical still applies."""
    late_delivery_grace_minutes: NonNegative = 0
    late_delivery_critical_hours: Positive = 24
    sla: dict[Priority, SlaTarget] = Field(default_factory=lambda: dict(DEFAULT_SLA))
    sla_critical_factor: Annotated[float, Field(ge=1)] = 2.0
    """A breach by this multiple of the SLA target (or more) is critical."""
    escalation_critical_level: Annotated[int, Field(ge=1)] = 2
    csat_bad_max: Annotated[int, Field(ge=1, le=5)] = 2
    nps_detractor_max: Annotated[int, Field(ge=0, le=10)] = 6
    slow_quote_hours: Positive = 48
    slow_order_confirmation_hours: Positive = 24

    @field_validator("sla")
    @classmethod
    def _every_priority(cls, sla: dict[Priority, SlaTarget]) -> dict[Priority, SlaTarget]:
        missing = sorted(p.value for p in Priority if p not in sla)
        if missing:
            raise ValueError(f"missing SLA for priority {', '.join(missing)}")
        return sla


class LifecycleRules(_Frozen):
    """How an alert lives: repeats, updates, resolution of event-level alerts, evidence size."""

    repeat_interval_hours: Positive = 24
    update_interval_minutes: NonNegative = 30
    event_quiet_period_hours: Positive = 24
    max_event_age_hours: Positive = 72
    max_event_ids: Annotated[int, Field(ge=1, le=200)] = 20


class ChainRules(_Frozen):
    """Cross-department incident chains: bad events of one order in several contact points."""

    enabled: bool = True
    window_hours: Positive = 168
    """Bad events of one order at most this far apart (event time) form one chain; a chain
    with no new bad event for this long (stream time) and not firing is forgotten."""
    min_contact_points: Annotated[int, Field(ge=2, le=4)] = 2
    """Distinct contact points a chain needs before it fires."""
    quiet_period_hours: Positive = 72
    """A firing chain resolves after this long (stream time) without a new bad event."""
    max_links: Annotated[int, Field(ge=2, le=100)] = 20
    """Bad events kept per chain (the earliest ones stay: they tell how it started)."""


def _known_kpi(kpi: str) -> str:
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi!r}")
    return kpi


class ThresholdRule(_Frozen):
    """A KPI outside a fixed limit (``direction`` says which side is bad)."""

    kpi: str
    window: Window | None = None
    """Only snapshots of this window; ``None`` for any window."""
    direction: Direction
    threshold: float
    critical: float | None = None
    """Further limit past which the alert is critical."""
    severity: Severity = Severity.WARNING
    hysteresis: NonNegative = 0
    """Margin back inside the threshold before the alert resolves."""
    update_delta: Positive | None = None
    """Move of the value that is a material change (default: per KPI)."""

    _check_kpi = field_validator("kpi")(_known_kpi)

    @model_validator(mode="after")
    def _critical_beyond_threshold(self) -> Self:
        if self.critical is not None:
            beyond = (
                self.critical < self.threshold
                if self.direction == "below"
                else (self.critical > self.threshold)
            )
            if not beyond:
                raise ValueError(f"critical must be {self.direction} threshold")
        return self

    @property
    def rule_id(self) -> str:
        suffix = f"_{self.window}" if self.window else ""
        return f"{self.kpi}_{self.direction}{suffix}"


class DropRule(_Frozen):
    """A KPI worse over ``window`` than over the account's own ``baseline_window``."""

    kpi: str
    window: Window
    baseline_window: Window
    max_drop: Positive
    critical_drop: Positive | None = None
    severity: Severity = Severity.WARNING
    hysteresis: NonNegative = 0
    update_delta: Positive | None = None

    _check_kpi = field_validator("kpi")(_known_kpi)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.window == self.baseline_window:
            raise ValueError("baseline_window must differ from window")
        if self.critical_drop is not None and self.critical_drop <= self.max_drop:
            raise ValueError("critical_drop must be larger than max_drop")
        return self

    @property
    def rule_id(self) -> str:
        return f"{self.kpi}_drop_{self.window}_vs_{self.baseline_window}"


class SilenceRule(_Frozen):
    """No executive contact with the account for more than ``days``."""

    days: Positive
    critical_days: Positive | None = None
    severity: Severity = Severity.WARNING

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.critical_days is not None and self.critical_days <= self.days:
            raise ValueError("critical_days must be larger than days")
        return self


class TierRules(_Frozen):
    """Everything that raises alerts for the accounts of one alerting tier."""

    events: EventRules = EventRules()
    thresholds: tuple[ThresholdRule, ...] = ()
    drops: tuple[DropRule, ...] = ()
    silence: SilenceRule | None = None

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Self:
        ids = [rule.rule_id for rule in self.thresholds] + [rule.rule_id for rule in self.drops]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if duplicates:
            raise ValueError(f"duplicate KPI rules {', '.join(duplicates)}")
        return self


class AlertRulesConfig(_Frozen):
    """The whole alert rules file. Only alerting tiers may have rules."""

    lifecycle: LifecycleRules = LifecycleRules()
    chains: ChainRules = ChainRules()
    events: EventRules = EventRules()
    """Event rules of tiers without their own overrides, and for tagging any event."""
    tiers: dict[AccountTier, TierRules] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _tier_events_inherit(cls, data: Any) -> Any:
        """Global ``events`` override the code defaults; a tier's ``events`` the global ones.

        Without a ``tiers`` table every alerting tier gets the global event rules and no KPI
        rules; with one, a tier left out raises no alerts.
        """
        if not isinstance(data, dict):
            return data
        events = data.get("events", {})
        if isinstance(events, EventRules):
            events = events.model_dump(mode="json")
        if not isinstance(events, dict):
            return data
        base = _merge(EventRules().model_dump(mode="json"), events)
        tiers = data.get("tiers", {tier.value: {} for tier in sorted(ALERTING_TIERS)})
        if isinstance(tiers, dict):
            tiers = {
                tier: {**rules, "events": _merge(base, rules.get("events", {}))}
                if isinstance(rules, dict)
                else rules
                for tier, rules in tiers.items()
            }
        return {**data, "events": base, "tiers": tiers}

    @field_validator("tiers")
    @classmethod
    def _alerting_tiers_only(
        cls, tiers: dict[AccountTier, TierRules]
    ) -> dict[AccountTier, TierRules]:
        silent = sorted(tier.value for tier in tiers if tier not in ALERTING_TIERS)
        if silent:
            raise ValueError(f"tier {', '.join(silent)} never alerts; remove its rules")
        return tiers

    def rules_for(self, tier: AccountTier) -> TierRules | None:
        """The rules of an alerting tier; ``None`` for a tier that never alerts."""
        return self.tiers.get(tier)

    def event_rules_for(self, tier: AccountTier) -> EventRules:
        """Event rules to tag an event of this tier (global rules for non-alerting tiers)."""
        rules = self.tiers.get(tier)
        return rules.events if rules is not None else self.events


def _merge(base: dict[str, Any], override: Any) -> Any:
    if not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        merged[key] = _merge(current, value) if isinstance(current, dict) else value
    return merged


def parse_alert_rules(text: str, *, source: Path | str = "<string>") -> AlertRulesConfig:
    """Validate the TOML text of an alert rules file (raises :class:`AlertRulesError`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AlertRulesError(source, [f"not valid TOML: {error}"]) from error
    try:
        return AlertRulesConfig.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in issue['loc']) or '<root>'}: {issue['msg']}"
            for issue in error.errors(include_url=False)
        ]
        raise AlertRulesError(source, problems) from error


def load_alert_rules(path: Path | str) -> AlertRulesConfig:
    """Read and validate an alert rules file (raises :class:`AlertRulesError`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AlertRulesError(path, [f"cannot read the file: {error}"]) from error
    return parse_alert_rules(text, source=path)
