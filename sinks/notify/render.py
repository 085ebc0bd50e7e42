"""Notification content in plain words: which account, which contact point, what happened,
the evidence, since when, and what to do (runbook link from a config template)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.alerts import Alert, AlertStatus
from sinks.board.links import account_page_url
from sinks.notify.config import RoutingConfig
from sinks.notify.grouping import Batch
from sinks.notify.routing import alert_fields, fill_template

MAX_EVENT_IDS = 5
_SHOWN_FIRST = ("kpi", "value", "threshold", "previous", "trend")
_HIDDEN = ("kind", "direction")


@dataclass(frozen=True, slots=True)
class RenderedAlert:
    title: str
    lines: tuple[str, ...]
    description: str
    evidence: str | None
    runbook_url: str | None
    account_url: str | None = None
    """The account's page on the board (``KAM_BOARD_PUBLIC_URL``), when the board is known."""

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    text: str
    alerts: tuple[RenderedAlert, ...]


def _number(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k} {_number(v)}" for k, v in sorted(value.items())) + ")"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def account_label(alert: Alert) -> str:
    """``"Acme Corp (ACC-1, strategic)"``."""
    name = alert.account_name or alert.account_id
    ids = f"{alert.account_id}, " if alert.account_name else ""
    return f"{name} ({ids}{alert.tier.value})"


def evidence_text(alert: Alert) -> str | None:
    """``"otif 0.82 vs threshold 0.95, trend falling; events e1, e2 (+3 more)"``."""
    evidence = alert.evidence
    parts: list[str] = []
    if "value" in evidence:
        kpi = evidence.get("kpi", alert.rule)
        vs = f" vs threshold {_number(evidence['threshold'])}" if "threshold" in evidence else ""
        parts.append(f"{kpi} {_number(evidence['value'])}{vs}")
    if evidence.get("previous") is not None:
        parts.append(f"previously {_number(evidence['previous'])}")
    if evidence.get("trend") is not None:
        parts.append(f"trend {evidence['trend']}")
    parts.extend(
        f"{key} {_number(value)}"
        for key, value in sorted(evidence.items())
        if key not in _SHOWN_FIRST and key not in _HIDDEN and value is not None
    )
    text = ", ".join(parts)
    if alert.event_ids:
        shown = ", ".join(alert.event_ids[:MAX_EVENT_IDS])
        more = len(alert.event_ids) - MAX_EVENT_IDS
        events = f"events {shown}" + (f" (+{more} more)" if more > 0 else "")
        text = f"{text}; {events}" if text else events
    return text or None


def runbook_url(alert: Alert, config: RoutingConfig) -> str | None:
    doc = config.rules.get(alert.rule)
    template = (doc.runbook_url if doc else None) or config.defaults.runbook_url
    return fill_template(template, alert_fields(alert), url_quote=True) if template else None


def render_alert(
    alert: Alert, config: RoutingConfig, *, board_url: str | None = None
) -> RenderedAlert:
    """Everything an on-call account team needs to know about one alert state; with the
    board's base URL, a link to the account's page (score, KPIs, timeline, tier, snoozes)."""
    state = "FIRING" if alert.status is AlertStatus.FIRING else "RESOLVED"
    title = (
        f"[{state}] {account_label(alert)} - {alert.contact_point.value}: {alert.summary}"
    )
    doc = config.rules.get(alert.rule)
    description = alert.summary
    if doc and doc.description:
        description = f"{alert.summary.rstrip('.')}. {doc.description}"
    owner = f"owner {alert.kam_owner or 'unassigned'}"
    team = f", team {alert.kam_team}" if alert.kam_team else ""
    if alert.status is AlertStatus.FIRING:
        so_far = _duration(alert.updated_at - alert.started_at)
        since = f"Since: {_when(alert.started_at)} ({so_far} so far)"
    else:
        lasted = _duration(alert.updated_at - alert.started_at)
        since = f"Resolved: {_when(alert.updated_at)} after {lasted}"
    evidence = evidence_text(alert)
    link = runbook_url(alert, config)
    page = account_page_url(board_url, alert.account_id) if board_url else None
    lines = [
        f"Account: {account_label(alert)}, {owner}{team}",
        f"Contact point: {alert.contact_point.value} (rule {alert.rule}, {alert.severity.value})",
        f"What happened: {description}",
        *([f"Evidence: {evidence}"] if evidence else []),
        since,
        *([f"Runbook: {link}"] if link else []),
        *([f"Account page: {page}"] if page else []),
    ]
    return RenderedAlert(
        title=title, lines=tuple(lines), description=description, evidence=evidence,
        runbook_url=link, account_url=page,
    )


def render_batch(batch: Batch, config: RoutingConfig, *, board_url: str | None = None) -> Message:
    """One message for a group: its title counts alerts and accounts, its text lists them."""
    rendered = tuple(render_alert(alert, config, board_url=board_url) for alert in batch.alerts)
    if len(rendered) == 1:
        title = rendered[0].title
    else:
        accounts = {alert.account_id for alert in batch.alerts}
        firing = sum(alert.status is AlertStatus.FIRING for alert in batch.alerts)
        counts = f"{len(rendered)} alerts ({firing} firing, {len(rendered) - firing} resolved)"
        if len(accounts) == 1:
            title = f"KAM Pulse: {counts} for {account_label(batch.alerts[0])}"
        else:
            title = f"KAM Pulse digest: {counts} for {len(accounts)} accounts"
    text = "\n\n".join(alert.text for alert in rendered)
    return Message(title=title, text=text, alerts=rendered)
