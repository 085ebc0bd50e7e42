"""KPI-level rules: a threshold crossed, a drop against the account's own baseline, silence.

The three kinds compile to one :class:`KpiRule` that compares a measured quantity with a limit;
``sign`` turns "below is bad" into "above is bad" so one comparison serves all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from schemas import AccountContext, ContactPoint, Severity
from streams.alerting.config import DropRule, SilenceRule, ThresholdRule, TierRules
from streams.alerting.kpis import KPIS, format_change, format_value

SILENCE_RULE_ID = "no_executive_contact"
SILENCE_KPI = "days_since_executive_contact"

KpiValues = Mapping[str, float | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiSnapshot:
    """The KPIs of one (account, contact point, window) as the KPI engine publishes them."""

    account_id: str
    account: AccountContext
    contact_point: ContactPoint
    window: str
    values: KpiValues
    as_of: datetime | None = None
    """End of the window (event time); the evaluation time when ``None``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiRule:
    """One compiled KPI rule: ``sign * value > sign * threshold`` breaches."""

    rule_id: str
    kind: Literal["threshold", "drop", "silence"]
    kpi: str
    window: str | None
    baseline_window: str | None = None
    sign: float
    threshold: float
    critical: float | None
    severity: Severity
    hysteresis: float
    update_delta: float


@dataclass(frozen=True, slots=True)
class Reading:
    """What a rule measured: the compared quantity and the evidence behind it."""

    value: float
    evidence: dict[str, Any] = field(default_factory=dict)


def _threshold(rule: ThresholdRule) -> KpiRule:
    return KpiRule(
        rule_id=rule.rule_id,
        kind="threshold",
        kpi=rule.kpi,
        window=rule.window,
        sign=1.0 if rule.direction == "above" else -1.0,
        threshold=rule.threshold,
        critical=rule.critical,
        severity=rule.severity,
        hysteresis=rule.hysteresis,
        update_delta=rule.update_delta or KPIS[rule.kpi].material_change,
    )


def _drop(rule: DropRule) -> KpiRule:
    return KpiRule(
        rule_id=rule.rule_id,
        kind="drop",
        kpi=rule.kpi,
        window=rule.window,
        baseline_window=rule.baseline_window,
        sign=1.0,
        threshold=rule.max_drop,
        critical=rule.critical_drop,
        severity=rule.severity,
        hysteresis=rule.hysteresis,
        update_delta=rule.update_delta or KPIS[rule.kpi].material_change,
    )


def _silence(rule: SilenceRule) -> KpiRule:
    return KpiRule(
        rule_id=SILENCE_RULE_ID,
        kind="silence",
        kpi=SILENCE_KPI,
        window=None,
        sign=1.0,
        threshold=rule.days,
        critical=rule.critical_days,
        severity=rule.severity,
        hysteresis=0.0,
        update_delta=KPIS[SILENCE_KPI].material_change,
    )


def compile_rules(rules: TierRules) -> tuple[KpiRule, ...]:
    """The KPI rules of one tier in evaluation order: thresholds, drops, silence."""
    compiled = [_threshold(rule) for rule in rules.thresholds]
    compiled += [_drop(rule) for rule in rules.drops]
    if rules.silence is not None:
        compiled.append(_silence(rules.silence))
    return tuple(compiled)


def _first_value(kpi: str, windows: Mapping[str, KpiValues]) -> tuple[str, float] | None:
    for window in sorted(windows):
        value = windows[window].get(kpi)
        if value is not None:
            return window, value
    return None


def measure(rule: KpiRule, windows: Mapping[str, KpiValues]) -> Reading | None:
    """The rule's quantity from the snapshots of one (account, contact point); ``None``: no data."""
    evidence: dict[str, Any] = {"kind": rule.kind, "kpi": rule.kpi}
    if rule.window is None:
        found = _first_value(rule.kpi, windows)
    else:
        value = windows.get(rule.window, {}).get(rule.kpi)
        found = None if value is None else (rule.window, value)
    if found is None:
        return None
    evidence["window"], value = found
    evidence["value"] = value
    if rule.kind == "drop":
        assert rule.baseline_window is not None
        baseline = windows.get(rule.baseline_window, {}).get(rule.kpi)
        if baseline is None:
            return None
        change = baseline - value if KPIS[rule.kpi].better == "higher" else value - baseline
        evidence.update(
            baseline_window=rule.baseline_window,
            baseline=baseline,
            drop=change,
            max_drop=rule.threshold,
        )
        return Reading(change, evidence)
    evidence.update(direction="above" if rule.sign > 0 else "below", threshold=rule.threshold)
    if rule.critical is not None:
        evidence["critical"] = rule.critical
    return Reading(value, evidence)


def level(rule: KpiRule, value: float, current: Severity | None) -> Severity | None:
    """Severity of a reading, ``None`` when inside the limit.

    ``current`` is the firing severity (``None`` when not firing): leaving a level needs the
    value back past its limit by ``hysteresis``, entering it only crossing the limit.
    """
    x = rule.sign * value

    def beyond(limit: float, held: bool) -> bool:
        edge = rule.sign * limit
        return x > edge - rule.hysteresis if held else x > edge

    if not beyond(rule.threshold, current is not None):
        return None
    if rule.critical is not None and beyond(rule.critical, current is Severity.CRITICAL):
        return Severity.CRITICAL
    return rule.severity


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(rule: KpiRule, reading: Reading, *, resolved: bool) -> str:
    """The plain-words summary of a reading, firing or resolved."""
    kpi = rule.kpi
    ev = reading.evidence
    if rule.kind == "silence":
        days = f"{reading.value:.0f} days"
        if resolved:
            return f"Executive contact resumed ({days} since the last one)"
        return f"No executive contact for {days} (limit {rule.threshold:.0f} days)"
    label = f"{_sentence(KPIS[kpi].label)} over {ev['window']}"
    value = format_value(kpi, ev["value"])
    if rule.kind == "drop":
        baseline = f"{ev['baseline_window']} baseline of {format_value(kpi, ev['baseline'])}"
        if resolved:
            return (
                f"{label} is back at {value}, within {format_change(kpi, rule.threshold)} "
                f"of its {baseline}"
            )
        return (
            f"{label} is {value}, {format_change(kpi, reading.value)} worse than its {baseline} "
            f"(limit {format_change(kpi, rule.threshold)})"
        )
    limit = format_value(kpi, rule.threshold)
    if resolved:
        return f"{label} is back at {value} (limit {limit})"
    return f"{label} is {value}, {ev['direction']} the {limit} limit"
