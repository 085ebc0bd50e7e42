"""Treatment gap: are strategic accounts really served better than standard ones? Pure.

Per contact point x KPI x window, each tier's value is the mean over its accounts of their
latest KPI value (the ``treatment_gap`` view, migration 0008). The gap is strategic minus
standard, signed with the KPI's good direction (:data:`streams.alerting.kpis.KPIS`) so that
positive means strategic accounts are served better. :func:`evaluate` turns the configured
rules into alert states with the usual lifecycle: fire, update on a severity change, repeat
after ``repeat_interval_hours``, resolve when the gap is back above the rule's minimum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.accounts import AccountTier
from schemas.alerts import Alert, AlertStatus, Severity, alert_key
from sinks.fairness.config import GapAlerts, GapRule, TreatmentGapConfig
from streams.alerting.kpis import KPIS, format_change, format_value

TIERS = (AccountTier.STRATEGIC, AccountTier.KEY, AccountTier.STANDARD)
GapKey = tuple[str, str, str]
"""(contact point, window, KPI)."""


@dataclass(frozen=True, slots=True)
class TierValues:
    """One row of the ``treatment_gap`` view: the mean latest value per tier."""

    contact_point: str
    window: str
    kpi: str
    values: Mapping[AccountTier, float | None]
    accounts: Mapping[AccountTier, int]

    @property
    def key(self) -> GapKey:
        return (self.contact_point, self.window, self.kpi)

    @property
    def gap(self) -> float | None:
        return treatment_gap(
            self.kpi, self.values.get(AccountTier.STRATEGIC), self.values.get(AccountTier.STANDARD)
        )

    @property
    def relative_gap(self) -> float | None:
        return relative_gap(self.gap, self.values.get(AccountTier.STANDARD))


def treatment_gap(kpi: str, strategic: float | None, standard: float | None) -> float | None:
    """Strategic minus standard, positive when strategic accounts are served better; ``None``
    when a tier has no value or the KPI's good direction is not known."""
    info = KPIS.get(kpi)
    if info is None or strategic is None or standard is None:
        return None
    return strategic - standard if info.better == "higher" else standard - strategic


def relative_gap(gap: float | None, standard: float | None) -> float | None:
    """The gap as a fraction of the standard tier's value (``None`` when that is 0)."""
    if gap is None or standard is None or standard == 0:
        return None
    return gap / abs(standard)


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule sees now: broken or not, and the numbers."""

    rule: GapRule
    values: TierValues | None
    measure: float | None
    """The gap (or relative gap) the rule compares; ``None``: not enough data to judge."""

    @property
    def broken(self) -> bool:
        return self.measure is not None and self.measure <= self.rule.minimum

    @property
    def recovered(self) -> bool:
        return self.measure is not None and self.measure > self.rule.minimum + self.rule.hysteresis

    @property
    def severity(self) -> Severity:
        critical = self.rule.critical_at_or_below
        if critical is not None and self.measure is not None and self.measure <= critical:
            return Severity.CRITICAL
        return self.rule.severity


def judge(rule: GapRule, rows: Mapping[GapKey, TierValues]) -> Finding:
    """The rule against the current per-tier values (not enough accounts: no judgement)."""
    values = rows.get((rule.contact_point.value, rule.window, rule.kpi))
    if values is None or any(
        values.accounts.get(tier, 0) < rule.min_accounts
        for tier in (AccountTier.STRATEGIC, AccountTier.STANDARD)
    ):
        return Finding(rule, values, None)
    return Finding(rule, values, values.relative_gap if rule.relative else values.gap)


def summary(finding: Finding) -> str:
    """One line with the numbers, e.g. ``support p90 first response (7d): strategic 412 min vs
    standard 398 min (key 405 min): strategic served 3.5% worse; the rule wants more than 10.0%
    better``."""
    rule, values = finding.rule, finding.values
    assert values is not None and values.gap is not None
    kpi = rule.kpi

    def shown(tier: AccountTier) -> str:
        value = values.values.get(tier)
        return "no data" if value is None else format_value(kpi, value)

    gap = values.gap
    if rule.relative and values.relative_gap is not None:
        size = f"{abs(values.relative_gap) * 100:.1f}%"
        wanted = f"more than {rule.minimum * 100:.1f}% better"
    else:
        size = format_change(kpi, abs(gap))
        wanted = f"more than {format_change(kpi, rule.minimum)} better"
    served = (
        "strategic served no better" if gap == 0
        else f"strategic served {size} {'better' if gap > 0 else 'worse'}"
    )  # fmt: skip
    counts = ", ".join(f"{values.accounts.get(t, 0)} {t.value}" for t in TIERS)
    return (
        f"{rule.contact_point.value} {KPIS[kpi].label} ({rule.window}): strategic "
        f"{shown(AccountTier.STRATEGIC)} vs standard {shown(AccountTier.STANDARD)} (key "
        f"{shown(AccountTier.KEY)}): {served}; the rule wants {wanted} ({counts} accounts)"
    )


def evidence(finding: Finding) -> dict[str, Any]:
    values = finding.values
    assert values is not None
    return {
        "contact_point": values.contact_point, "window": values.window, "kpi": values.kpi,
        "strategic": values.values.get(AccountTier.STRATEGIC),
        "key": values.values.get(AccountTier.KEY),
        "standard": values.values.get(AccountTier.STANDARD),
        "gap": values.gap, "relative_gap": values.relative_gap,
        "measure": "relative_gap" if finding.rule.relative else "gap",
        "minimum": finding.rule.minimum,
        "accounts": {tier.value: values.accounts.get(tier, 0) for tier in TIERS},
    }  # fmt: skip


def gap_alert_key(alerts: GapAlerts, rule: GapRule) -> str:
    return alert_key(alerts.account_id, rule.contact_point, rule.rule_id)


def _state(
    alerts: GapAlerts, finding: Finding, status: AlertStatus, *, started: datetime,
    now: datetime, severity: Severity, text: str,
) -> Alert:  # fmt: skip
    return Alert(
        alert_key=gap_alert_key(alerts, finding.rule),
        account_id=alerts.account_id,
        account_name=alerts.account_name,
        tier=AccountTier.STRATEGIC,
        kam_owner=alerts.kam_owner,
        kam_team=alerts.kam_team,
        contact_point=finding.rule.contact_point,
        rule=finding.rule.rule_id,
        severity=severity,
        status=status,
        summary=text,
        evidence=evidence(finding) if finding.values is not None else {},
        started_at=started,
        updated_at=now,
    )


def evaluate(
    config: TreatmentGapConfig,
    rows: Iterable[TierValues],
    previous: Mapping[str, Alert],
    *,
    now: datetime,
) -> list[Alert]:
    """The alert states to publish now, given each rule's latest published state
    (``previous``, by alert key): a broken rule fires (or is updated when its severity
    changed, or repeated after the repeat interval); a recovered one resolves; a rule without
    enough data keeps its state."""
    by_key = {row.key: row for row in rows}
    repeat = timedelta(hours=config.alerts.repeat_interval_hours)
    out: list[Alert] = []
    for rule in config.rules:
        finding = judge(rule, by_key)
        last = previous.get(gap_alert_key(config.alerts, rule))
        firing = last is not None and last.status is AlertStatus.FIRING
        if finding.broken:
            severity = finding.severity
            if firing and last is not None:
                if severity == last.severity and now - last.updated_at < repeat:
                    continue
                started = last.started_at
            else:
                started = now
            out.append(_state(config.alerts, finding, AlertStatus.FIRING, started=started,
                              now=now, severity=severity, text=summary(finding)))  # fmt: skip
        elif firing and finding.recovered and last is not None:
            text = f"resolved: {summary(finding)}"
            out.append(_state(config.alerts, finding, AlertStatus.RESOLVED,
                              started=last.started_at, now=now, severity=last.severity,
                              text=text))  # fmt: skip
    return out
