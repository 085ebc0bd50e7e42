"""Deduplication: one notification per (alert_key, status, updated_at), no repeats within
``repeat_interval`` unless the status changed or the severity rose."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from schemas.alerts import Alert, AlertStatus, Severity

PAGERDUTY_DEDUP_MAX = 255
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

Verdict = Literal["notify", "duplicate", "stale", "repeat", "never_notified"]


def notification_key(alert: Alert) -> str:
    """The dedup key of one state of an alert; a re-send after a restart carries the same key."""
    updated = alert.updated_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{alert.alert_key}|{alert.status.value}|{updated}"


def bounded_key(key: str, limit: int = PAGERDUTY_DEDUP_MAX) -> str:
    """``key`` itself when short enough, else a stable ``sha256:`` digest (71 chars)."""
    if len(key) <= limit:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(slots=True)
class _State:
    updated_at: datetime
    status: AlertStatus
    notified_status: AlertStatus | None = None
    notified_severity: Severity | None = None
    notified_at: datetime | None = None


class Deduplicator:
    """Remembers, per alert key, the last state seen and the last state notified (bounded LRU)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._states: OrderedDict[str, _State] = OrderedDict()
        self._max_keys = max_keys

    def verdict(self, alert: Alert, *, repeat_interval: timedelta, now: datetime) -> Verdict:
        """Whether this state of the alert is worth a notification."""
        state = self._states.get(alert.alert_key)
        if state is None:
            return "notify"
        if alert.updated_at <= state.updated_at:
            same = alert.updated_at == state.updated_at and alert.status == state.status
            return "duplicate" if same else "stale"
        if state.notified_status is None:
            return "never_notified" if alert.status is AlertStatus.RESOLVED else "notify"
        escalated = _SEVERITY_RANK[alert.severity] > _SEVERITY_RANK[
            state.notified_severity or alert.severity
        ]
        repeat_due = state.notified_at is None or now - state.notified_at >= repeat_interval
        if alert.status != state.notified_status or escalated or repeat_due:
            return "notify"
        return "repeat"

    def firing_notified(self, alert_key: str) -> bool:
        """Whether the last notification sent for this alert said it was firing."""
        state = self._states.get(alert_key)
        return state is not None and state.notified_status is AlertStatus.FIRING

    def seen(self, alert: Alert, *, notified: bool, now: datetime) -> None:
        """Record a state of the alert, and whether a notification for it was queued."""
        state = self._states.get(alert.alert_key)
        if state is None:
            state = self._states[alert.alert_key] = _State(alert.updated_at, alert.status)
        self._states.move_to_end(alert.alert_key)
        state.updated_at, state.status = alert.updated_at, alert.status
        if notified:
            state.notified_status, state.notified_severity = alert.status, alert.severity
            state.notified_at = now
        while len(self._states) > self._max_keys:
            self._states.popitem(last=False)
