"""Grouping: alerts for one target (and one account, or all accounts for a digest) that arrive
within ``group_wait`` of the first become one notification, not a storm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from schemas.alerts import Alert
from sinks.notify.dedup import notification_key
from sinks.notify.routing import Target


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where an alert was read from; its offset is committed once every notification is done."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Item:
    alert: Alert
    ref: MessageRef | None = None

    @property
    def dedup_key(self) -> str:
        return notification_key(self.alert)


@dataclass(frozen=True, slots=True)
class Batch:
    """One notification for one receiver: the latest state of each alert in the group."""

    receiver: str
    channel: str | None
    group_key: str
    items: tuple[Item, ...]
    refs: tuple[MessageRef, ...]
    opened_at: datetime

    @property
    def notification_id(self) -> str:
        """Stable for the same receiver, channel and alert states (so re-sends look the same)."""
        keys = "\n".join(sorted(item.dedup_key for item in self.items))
        digest = hashlib.sha256(f"{self.receiver}\n{self.channel or ''}\n{keys}".encode())
        return digest.hexdigest()[:32]

    @property
    def alerts(self) -> list[Alert]:
        return [item.alert for item in self.items]


@dataclass(slots=True)
class _Group:
    target: Target
    group_key: str
    opened_at: datetime
    due_at: datetime
    items: dict[str, Item] = field(default_factory=dict)
    refs: list[MessageRef] = field(default_factory=list)


class Grouper:
    """Open groups keyed by (receiver, channel, account or ``*``), each due after its wait."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str | None, str], _Group] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, target: Target, item: Item, now: datetime) -> None:
        """Put an alert state into its group; a newer state of the same alert replaces the older."""
        scope = item.alert.account_id if target.group_by == "account" else "*"
        key = (target.receiver, target.channel, scope)
        group = self._open.get(key)
        if group is None:
            group = self._open[key] = _Group(
                target=target, group_key=scope, opened_at=now, due_at=now + target.group_wait
            )
        group.items.pop(item.alert.alert_key, None)
        group.items[item.alert.alert_key] = item
        if item.ref is not None:
            group.refs.append(item.ref)

    def next_due(self) -> datetime | None:
        return min((group.due_at for group in self._open.values()), default=None)

    def due(self, now: datetime) -> list[Batch]:
        """Close and return the groups whose wait is over, oldest first."""
        ready = sorted(
            (key for key, group in self._open.items() if group.due_at <= now),
            key=lambda key: self._open[key].due_at,
        )
        return [self._close(self._open.pop(key)) for key in ready]

    @staticmethod
    def _close(group: _Group) -> Batch:
        return Batch(
            receiver=group.target.receiver,
            channel=group.target.channel,
            group_key=group.group_key,
            items=tuple(group.items.values()),
            refs=tuple(group.refs),
            opened_at=group.opened_at,
        )
