"""Cross-department incident chains: one order that goes wrong in several contact points.

A late delivery, then a support ticket past its SLA, then a disputed invoice are three
event-level alerts in three departments; for the customer they are one story. Bad events that
carry the same ``order_id`` (an account's order, and the shipments, tickets, invoices and
credit notes that name it) are kept per account and order; once they span
``min_contact_points`` contact points within ``window_hours`` they fire ONE alert that tells
the chain in event-time order, lists the keys of the per-event alerts it explains and lives the
usual lifecycle (new, updated, repeat, resolved) on its partition's stream time.

Pure: no Kafka. The stream worker feeds fresh events with the stream time once each was read,
persists :meth:`IncidentChains.drain_changes` under :func:`streams.state.chain_key` and loads
them back with :meth:`IncidentChains.restore` after a rebalance or a crash. An event without an
``order_id`` costs one attribute lookup.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas import (
    AccountContext,
    AccountTier,
    Alert,
    AlertStatus,
    ContactPoint,
    EnrichedTouchpoint,
    Severity,
    alert_key,
)
from streams.alerting.book import Transition
from streams.alerting.config import AlertRulesConfig
from streams.alerting.events import SEVERITY_RANK, BadExperience, bad_experiences, duration_words
from streams.alerting.exceptions import AlertStateError

CHAIN_RULE = "incident_chain"
ChainId = tuple[int, str, str]
"""(source partition, account id, order id): one chain."""
PartitionClock = Callable[[int], float]
"""The stream time of a partition (epoch seconds), where a chain's lifecycle runs."""
Fresh = Mapping[int, Sequence[tuple[int, EnrichedTouchpoint]]]
"""Per source partition: (offset, event) of the events read for the first time."""


def chain_alert_key(account_id: str, order_id: str) -> str:
    """The stable key of an order's chain alert: the same order always has the same key."""
    return f"{account_id}:{CHAIN_RULE}:{order_id}"


def order_of(item: EnrichedTouchpoint) -> str | None:
    """The order an event belongs to, ``None`` for an event that names none."""
    order: str | None = getattr(item.event.payload, "order_id", None)
    return order


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One bad event of a chain: where and when it went wrong, and the alerts it raised."""

    occurred_at: float
    contact_point: ContactPoint
    event_id: str
    event_type: str
    rule: str
    severity: Severity
    summary: str
    alert_keys: tuple[str, ...]

    def to_primitive(self) -> list[Any]:
        return [
            self.occurred_at,
            self.contact_point.value,
            self.event_id,
            self.event_type,
            self.rule,
            self.severity.value,
            self.summary,
            list(self.alert_keys),
        ]

    @classmethod
    def from_primitive(cls, data: Any) -> ChainLink:
        at, point, event_id, event_type, rule, severity, summary, keys = data
        return cls(
            float(at),
            ContactPoint(point),
            str(event_id),
            str(event_type),
            str(rule),
            Severity(severity),
            str(summary),
            tuple(str(key) for key in keys),
        )

    def evidence(self) -> dict[str, Any]:
        return {
            "occurred_at": _utc(self.occurred_at).isoformat(),
            "contact_point": self.contact_point.value,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "rule": self.rule,
            "severity": self.severity.value,
            "summary": self.summary,
            "alert_keys": list(self.alert_keys),
        }


@dataclass(slots=True, kw_only=True)
class ChainState:
    """Lifecycle memory of one order's chain. Times are epoch seconds (UTC)."""

    links: list[ChainLink] = field(default_factory=list)
    account: AccountContext = field(
        default_factory=lambda: AccountContext(tier=AccountTier.UNKNOWN)
    )
    firing: bool = False
    emitted_at: float | None = None
    """Stream time of the last FIRING notification."""
    emitted_severity: Severity | None = None
    emitted_points: int = 0
    """Contact points in the chain when it was last notified."""
    last_bad_at: float = 0.0
    """Stream time of its partition when the latest bad event was read."""
    pending: bool = False
    """A link added since the last notification."""

    @property
    def contact_points(self) -> list[ContactPoint]:
        """Distinct contact points, in the order the chain reached them."""
        return list(dict.fromkeys(link.contact_point for link in self.links))

    @property
    def severity(self) -> Severity:
        return min((link.severity for link in self.links), key=SEVERITY_RANK.__getitem__)

    def to_primitive(self) -> dict[str, Any]:
        return {
            "l": [link.to_primitive() for link in self.links],
            "a": [
                self.account.name,
                self.account.tier.value,
                self.account.kam_owner,
                self.account.kam_team,
            ],
            "f": self.firing,
            "te": self.emitted_at,
            "se": self.emitted_severity.value if self.emitted_severity else None,
            "np": self.emitted_points,
            "tb": self.last_bad_at,
            "p": self.pending,
        }

    @classmethod
    def from_primitive(cls, key: str, data: Any) -> ChainState:
        """Rebuild a state from :meth:`to_primitive` output (raises :class:`AlertStateError`)."""
        try:
            name, tier, owner, team = data["a"]
            return cls(
                links=[ChainLink.from_primitive(link) for link in data["l"]],
                account=AccountContext(
                    tier=AccountTier(tier), name=name, kam_owner=owner, kam_team=team
                ),
                firing=bool(data["f"]),
                emitted_at=None if data["te"] is None else float(data["te"]),
                emitted_severity=None if data["se"] is None else Severity(data["se"]),
                emitted_points=int(data["np"]),
                last_bad_at=float(data["tb"]),
                pending=bool(data["p"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise AlertStateError(key, f"{type(error).__name__}: {error}") from error


class IncidentChains:
    """The chains of the partitions a worker owns, and the alerts they raise."""

    def __init__(self, *, config: AlertRulesConfig) -> None:
        self._config = config
        chains = config.chains
        self.enabled = chains.enabled
        self._window = chains.window_hours * 3600
        self._quiet = chains.quiet_period_hours * 3600
        self._min_points = chains.min_contact_points
        self._max_links = chains.max_links
        life = config.lifecycle
        self._repeat = life.repeat_interval_hours * 3600
        self._update = life.update_interval_minutes * 60
        self._max_age = life.max_event_age_hours * 3600
        self._chains: dict[ChainId, ChainState] = {}
        self._due: list[tuple[float, ChainId]] = []
        """A heap of (stream time, chain): when a chain may repeat, resolve or expire; stale
        entries are checked and dropped when popped."""
        self._dirty: set[ChainId] = set()
        self._now = 0.0

    def __len__(self) -> int:
        return len(self._chains)

    def state(self, chain: ChainId) -> ChainState | None:
        return self._chains.get(chain)

    # --- persistence ---------------------------------------------------------------------
    def restore(self, chain: ChainId, data: Any) -> None:
        """Load (or with ``None`` forget) one chain's state, e.g. from the state table."""
        self._chains.pop(chain, None)
        if data is None:
            return
        state = self._chains[chain] = ChainState.from_primitive(repr(chain), data)
        self._schedule(chain, state)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the chains of partitions this worker no longer owns."""
        gone = set(partitions)
        for chain in [chain for chain in self._chains if chain[0] in gone]:
            del self._chains[chain]
        self._due = [entry for entry in self._due if entry[1][0] not in gone]
        heapq.heapify(self._due)
        self._dirty = {chain for chain in self._dirty if chain[0] not in gone}

    def drain_changes(self) -> dict[ChainId, dict[str, Any] | None]:
        """States of every chain changed since the last drain (``None``: delete the entry)."""
        changes = {chain: self._primitive(chain) for chain in sorted(self._dirty)}
        self._dirty.clear()
        return changes

    def _primitive(self, chain: ChainId) -> dict[str, Any] | None:
        state = self._chains.get(chain)
        return None if state is None else state.to_primitive()

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(
        self,
        *,
        now: datetime,
        clock: PartitionClock,
        fresh: Fresh | None = None,
        seen: Sequence[float] = (),
    ) -> list[Alert]:
        """Add the bad events of ``fresh`` that name an order, then return the chain alerts
        due at each partition's stream time (``clock``), in chain order.

        ``seen`` is the stream time of its partition once each event of ``fresh`` (in its
        iteration order) was read, as :meth:`streams.alerting.AlertBook.evaluate` takes it.
        """
        self._now = now.timestamp()
        touched: set[ChainId] = set()
        if fresh:
            moments = iter(seen)
            for partition, items in fresh.items():
                for _, item in items:
                    at = next(moments)
                    order = order_of(item)
                    if order is not None:
                        chain = self._ingest(partition, order, item, at)
                        if chain is not None:
                            touched.add(chain)
        positions: dict[int, float] = {}
        while self._due and self._due[0][0] <= self._position(self._due[0][1][0], clock, positions):
            touched.add(heapq.heappop(self._due)[1])
        out: list[Alert] = []
        for chain in sorted(touched):
            alert = self._decide(chain, self._position(chain[0], clock, positions))
            if alert is not None:
                out.append(alert)
        return out

    @staticmethod
    def _position(partition: int, clock: PartitionClock, cache: dict[int, float]) -> float:
        if partition not in cache:
            cache[partition] = clock(partition)
        return cache[partition]

    def _ingest(
        self, partition: int, order: str, item: EnrichedTouchpoint, at: float
    ) -> ChainId | None:
        event = item.event
        rules = self._config.rules_for(item.account.tier)
        occurred = event.occurred_at.timestamp()
        if rules is None or at - occurred > self._max_age:
            return None
        found = bad_experiences(event, rules.events)
        if not found:
            return None
        chain = (partition, event.account_id, order)
        state = self._chains.get(chain) or ChainState()
        if any(link.event_id == event.event_id for link in state.links):
            return None  # redelivered: already in the chain
        worst = min(found, key=lambda bad: SEVERITY_RANK[bad.severity])
        link = _link(event.account_id, event.contact_point, event, worst, found)
        if not state.firing:  # a chain not yet told keeps only the links within its window
            newest = max([occurred, *(kept.occurred_at for kept in state.links)])
            oldest = newest - self._window
            state.links = [kept for kept in state.links if kept.occurred_at >= oldest]
        if len(state.links) >= self._max_links:
            return None
        state.links.append(link)
        state.links.sort(key=lambda kept: (kept.occurred_at, kept.event_id))
        state.account = item.account
        state.last_bad_at = max(state.last_bad_at, at)
        state.pending = True
        self._chains[chain] = state
        self._dirty.add(chain)
        return chain

    def _decide(self, chain: ChainId, at: float) -> Alert | None:
        state = self._chains.get(chain)
        if state is None:
            return None
        alert: Alert | None = None
        if not state.firing:
            if len(state.contact_points) >= self._min_points:
                state.firing = True
                alert = self._emit(chain, state, "new", at)
            elif at - state.last_bad_at >= self._window:
                self._drop(chain)  # nothing joined it in time: forgotten, never told
                return None
        elif at - state.last_bad_at >= self._quiet:
            alert = self._alert(chain, state, AlertStatus.RESOLVED, "resolved", at)
            self._drop(chain)
            return alert
        elif len(state.contact_points) != state.emitted_points or (
            state.severity != state.emitted_severity
        ) or (
            state.pending and state.emitted_at is not None and at - state.emitted_at >= self._update
        ):
            alert = self._emit(chain, state, "updated", at)
        elif state.emitted_at is not None and at - state.emitted_at >= self._repeat:
            alert = self._emit(chain, state, "repeat", at)
        self._schedule(chain, state)
        return alert

    def _emit(self, chain: ChainId, state: ChainState, transition: Transition, at: float) -> Alert:
        alert = self._alert(chain, state, AlertStatus.FIRING, transition, at)
        state.emitted_at, state.emitted_severity, state.pending = at, state.severity, False
        state.emitted_points = len(state.contact_points)
        self._dirty.add(chain)
        return alert

    def _drop(self, chain: ChainId) -> None:
        del self._chains[chain]
        self._dirty.add(chain)

    def _schedule(self, chain: ChainId, state: ChainState) -> None:
        """Remember when the chain next changes with no new event."""
        if not state.firing:
            when = state.last_bad_at + self._window
        else:
            when = state.last_bad_at + self._quiet
            if state.emitted_at is not None:
                when = min(when, state.emitted_at + self._repeat)
                if state.pending:
                    when = min(when, state.emitted_at + self._update)
        heapq.heappush(self._due, (when, chain))

    def _alert(
        self,
        chain: ChainId,
        state: ChainState,
        status: AlertStatus,
        transition: Transition,
        at: float,
    ) -> Alert:
        _, account_id, order = chain
        points = state.contact_points
        story = " -> ".join(f"{link.summary} ({link.contact_point.value})" for link in state.links)
        summary = f"order {order}: {story}"
        evidence: dict[str, Any] = {"transition": transition, "kind": "chain"}
        if status is AlertStatus.RESOLVED:
            evidence["reason"] = "quiet_period"
            summary = (
                f"order {order}: no new bad experience for {duration_words(self._quiet)}, "
                f"resolved (was: {story})"
            )
        evidence.update(
            reference={"order_id": order},
            contact_points=[point.value for point in points],
            chain=[link.evidence() for link in state.links],
            explains=list(dict.fromkeys(key for link in state.links for key in link.alert_keys)),
        )
        account = state.account
        return Alert(
            alert_key=chain_alert_key(account_id, order),
            account_id=account_id,
            account_name=account.name,
            tier=account.tier,
            kam_owner=account.kam_owner,
            kam_team=account.kam_team,
            contact_point=points[0],
            rule=CHAIN_RULE,
            severity=state.severity,
            status=status,
            summary=summary,
            evidence=evidence,
            event_ids=[link.event_id for link in state.links],
            started_at=_utc(state.links[0].occurred_at),
            updated_at=_utc(self._now if self._now else at),
        )


def _link(
    account_id: str,
    contact_point: ContactPoint,
    event: Any,
    worst: BadExperience,
    found: Sequence[BadExperience],
) -> ChainLink:
    return ChainLink(
        occurred_at=event.occurred_at.timestamp(),
        contact_point=contact_point,
        event_id=event.event_id,
        event_type=event.event_type,
        rule=worst.rule,
        severity=worst.severity,
        summary=worst.summary,
        alert_keys=tuple(alert_key(account_id, contact_point, bad.rule) for bad in found),
    )


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)
