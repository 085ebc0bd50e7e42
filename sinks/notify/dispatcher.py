"""The notifier's pure core: snooze, dedup, routing and grouping of alert states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.alerts import Alert, AlertStatus
from sinks.notify.config import RoutingConfig
from sinks.notify.dedup import Deduplicator
from sinks.notify.grouping import Batch, Grouper, Item, MessageRef
from sinks.notify.routing import Target, route_alert
from sinks.notify.snooze import Snooze, SnoozeBook

Outcome = Literal["queued", "duplicate", "stale", "repeat", "never_notified", "snoozed", "no_route"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one alert state; ``targets`` is empty unless it was queued."""

    outcome: Outcome
    targets: tuple[Target, ...] = ()
    snooze: Snooze | None = None


class Dispatcher:
    """Takes alert states in topic order and hands out due notification batches."""

    def __init__(self, *, config: RoutingConfig, max_tracked_alerts: int = 100_000) -> None:
        self.config = config
        self.snoozes = SnoozeBook()
        self._dedup = Deduplicator(max_keys=max_tracked_alerts)
        self._grouper = Grouper()

    def offer(self, alert: Alert, *, now: datetime, ref: MessageRef | None = None) -> Decision:
        """Decide about one alert state; queued ones wait in their groups until due."""
        targets = route_alert(alert, self.config)
        default_repeat = self.config.defaults.repeat_interval
        repeat = min((t.repeat_interval for t in targets), default=default_repeat)
        verdict = self._dedup.verdict(alert, repeat_interval=repeat, now=now)
        if verdict in ("duplicate", "stale"):
            return Decision(outcome=verdict)
        snooze = self.snoozes.active(alert, now)
        closes_incident = (
            alert.status is AlertStatus.RESOLVED and self._dedup.firing_notified(alert.alert_key)
        )
        if snooze is not None and not closes_incident:
            self._dedup.seen(alert, notified=False, now=now)
            return Decision(outcome="snoozed", snooze=snooze)
        if verdict != "notify" or not targets:
            self._dedup.seen(alert, notified=False, now=now)
            return Decision(outcome="no_route" if verdict == "notify" else verdict)
        self._dedup.seen(alert, notified=True, now=now)
        for target in targets:
            self._grouper.add(target, Item(alert=alert, ref=ref), now)
        return Decision(outcome="queued", targets=tuple(targets))

    def due(self, now: datetime) -> list[Batch]:
        """Notification batches whose grouping window is over."""
        return self._grouper.due(now)

    def next_due(self) -> datetime | None:
        return self._grouper.next_due()

    @property
    def open_groups(self) -> int:
        return len(self._grouper)
