"""The alert lifecycle: which alert records a batch of events and KPI snapshots produces.

:class:`AlertBook` keeps one :class:`AlertState` per alert key, grouped by account so a Faust
table keyed by account id (co-partitioned with the touchpoints) can hold it. Time only comes
from arguments: event times from the events and snapshots; the lifecycle (maximum event age,
quiet periods, repeats, update pacing) runs on the *stream time* of each account's partition
(``clock`` and ``seen``), so it depends on the data, not on how fast or how often the worker ran;
``now``, the processing time, only stamps ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from schemas import (
    AccountContext,
    Alert,
    AlertStatus,
    ContactPoint,
    EnrichedTouchpoint,
    Severity,
    alert_key,
)
from streams.alerting.config import AlertRulesConfig
from streams.alerting.events import SEVERITY_RANK, BadExperience, bad_experiences, duration_words
from streams.alerting.exceptions import AlertStateError
from streams.alerting.kpi_rules import (
    KpiSnapshot,
    KpiValues,
    compile_rules,
    describe,
    level,
    measure,
)
from streams.alerting.state import AlertState

Transition = Literal["new", "updated", "repeat", "resolved"]
AccountStates = dict[str, dict[str, Any]]
StreamClock = Callable[[str], float]
"""The stream time (epoch seconds) of an account's partition."""
"""One account's states in primitive form: alert key -> :meth:`AlertState.to_primitive`."""


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AlertBook:
    """Alert states by account; :meth:`evaluate` turns one batch into the alerts to emit."""

    def __init__(
        self, *, config: AlertRulesConfig, states: Mapping[str, AccountStates] | None = None
    ) -> None:
        self._config = config
        life = config.lifecycle
        self._repeat = life.repeat_interval_hours * 3600
        self._update = life.update_interval_minutes * 60
        self._quiet = life.event_quiet_period_hours * 3600
        self._max_age = life.max_event_age_hours * 3600
        self._max_ids = life.max_event_ids
        self._kpi_rules = {tier: compile_rules(rules) for tier, rules in config.tiers.items()}
        # KPI rule ids that do not apply: per alerting tier those of other tiers; all for the rest.
        every_rule = {rule.rule_id for rules in self._kpi_rules.values() for rule in rules}
        self._foreign_rules = {
            tier: tuple(sorted(every_rule.difference(rule.rule_id for rule in rules)))
            for tier, rules in self._kpi_rules.items()
        }
        self._all_rules = tuple(sorted(every_rule))
        self._accounts: dict[str, dict[str, AlertState]] = {}
        self._firing: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._now_ms = 0
        """The processing time of the current :meth:`evaluate` in whole milliseconds (the
        ``updated_at`` of its records, which the alerts table keeps to the millisecond)."""
        self._stamps: dict[str, int] = {}
        """``updated_at`` (ms) of each key's last record, while it is not before ``_now_ms``."""
        for account_id, bundle in (states or {}).items():
            self.restore(account_id, bundle)

    # --- persistence ---------------------------------------------------------------------
    def restore(self, account_id: str, bundle: AccountStates | None) -> None:
        """Load (or with ``None`` forget) one account's states, e.g. from a table changelog."""
        for key in self._accounts.pop(account_id, {}):
            self._firing.pop(key, None)
        if not bundle:
            return
        states = {key: AlertState.from_primitive(key, data) for key, data in bundle.items()}
        self._accounts[account_id] = states
        self._firing.update({key: account_id for key, state in states.items() if state.firing})

    def tracks(self, account_id: str) -> bool:
        """Whether the book holds any alert state of this account."""
        return bool(self._accounts.get(account_id))

    def account_states(self, account_id: str) -> AccountStates | None:
        """One account's states in primitive form, ``None`` when it has none."""
        states = self._accounts.get(account_id)
        if not states:
            return None
        return {key: state.to_primitive() for key, state in states.items()}

    def drain_changes(self) -> dict[str, AccountStates | None]:
        """States of every account changed since the last drain (``None``: delete the entry)."""
        changes = {
            account_id: self.account_states(account_id) for account_id in sorted(self._dirty)
        }
        self._dirty.clear()
        return changes

    def to_primitive(self) -> dict[str, AccountStates]:
        return {account_id: self.account_states(account_id) or {} for account_id in self._accounts}

    @classmethod
    def from_primitive(cls, data: Any, *, config: AlertRulesConfig) -> AlertBook:
        if not isinstance(data, dict):
            raise AlertStateError("<book>", f"expected an object, got {type(data).__name__}")
        return cls(config=config, states=data)

    def dumps(self) -> bytes:
        """The whole book as JSON bytes."""
        return orjson.dumps(self.to_primitive())

    @classmethod
    def loads(cls, raw: bytes, *, config: AlertRulesConfig) -> AlertBook:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise AlertStateError("<book>", f"not JSON: {error}") from error
        return cls.from_primitive(data, config=config)

    def state(self, key: str) -> AlertState | None:
        account_id = key.rsplit(":", 2)[0]
        return self._accounts.get(account_id, {}).get(key)

    def __len__(self) -> int:
        return sum(len(states) for states in self._accounts.values())

    @property
    def firing_keys(self) -> list[str]:
        return list(self._firing)

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(
        self,
        *,
        now: datetime,
        events: Sequence[EnrichedTouchpoint] = (),
        snapshots: Iterable[KpiSnapshot] = (),
        seen: Sequence[float] | None = None,
        clock: StreamClock | None = None,
    ) -> list[Alert]:
        """Apply one batch and return the alert records to emit, in a deterministic order.

        ``seen`` is the stream time of its partition once each of ``events`` was read (its age
        and the quiet period are measured from there); ``clock`` the stream time of an
        account's partition at the end of the batch, which drives repeats, update pacing and
        quiet-period resolves. Both default to ``now``, the processing time, which otherwise
        only stamps the records' ``updated_at``.
        """
        at = _ts(now)
        self._now_ms = now_ms = int(at * 1000)
        self._stamps = {key: ms for key, ms in self._stamps.items() if ms >= now_ms}
        moments = seen if seen is not None else [at] * len(events)
        of_account = clock or (lambda _: at)
        out: list[Alert] = []
        for item, moment in zip(events, moments, strict=True):
            self._ingest_event(item, moment, out)
        # One judgment per key and as_of, in the order given (a batch may judge a key twice).
        groups: dict[tuple[str, ContactPoint, datetime | None], dict[str, KpiSnapshot]] = {}
        for snapshot in snapshots:
            groups.setdefault(
                (snapshot.account_id, snapshot.contact_point, snapshot.as_of), {}
            )[snapshot.window] = snapshot
        for (account_id, contact_point, _), windows in groups.items():
            self._ingest_kpis(account_id, contact_point, windows, of_account(account_id), out)
        for key in sorted(self._firing):  # key order: the same after a restore
            account_id = self._firing[key]
            alert = self._decide(key, account_id, of_account(account_id))
            if alert is not None:
                out.append(alert)
        return out

    def _states(self, account_id: str) -> dict[str, AlertState]:
        self._dirty.add(account_id)
        return self._accounts.setdefault(account_id, {})

    def _ingest_event(self, item: EnrichedTouchpoint, at: float, out: list[Alert]) -> None:
        rules = self._config.rules_for(item.account.tier)
        event = item.event
        if rules is None or at - _ts(event.occurred_at) > self._max_age:
            return
        for bad in bad_experiences(event, rules.events):
            key = alert_key(event.account_id, event.contact_point, bad.rule)
            states = self._states(event.account_id)
            state = states.get(key)
            if state is not None and at - state.last_bad_at >= self._quiet:
                if state.emitted_at is None:  # fired and went quiet within one batch
                    out.append(self._alert(key, state, AlertStatus.FIRING, "new"))
                out.append(self._resolve_quiet(key, event.account_id, state))
                states, state = self._states(event.account_id), None
            if state is None:
                state = states[key] = AlertState(
                    kind="event", firing=True, started_at=_ts(event.occurred_at)
                )
                self._firing[key] = event.account_id
            self._add_bad_event(state, bad, event.event_id, _ts(event.occurred_at), at)
            state.account = item.account

    def _add_bad_event(
        self, state: AlertState, bad: BadExperience, event_id: str, occurred: float, at: float
    ) -> None:
        if event_id in state.event_ids:
            return  # redelivered event: already counted
        state.event_ids.append(event_id)
        del state.event_ids[: -self._max_ids]
        state.count += 1
        if state.emitted_at is None:
            state.started_at = min(state.started_at, occurred)
        if state.severity is None or SEVERITY_RANK[bad.severity] < SEVERITY_RANK[state.severity]:
            state.severity = bad.severity
        state.last_bad_at = at
        state.summary = bad.summary
        state.evidence = bad.evidence
        state.pending = True

    def _ingest_kpis(
        self,
        account_id: str,
        contact_point: ContactPoint,
        windows: dict[str, KpiSnapshot],
        at: float,
        out: list[Alert],
    ) -> None:
        latest = next(reversed(windows.values()))
        account = latest.account
        rules = self._kpi_rules.get(account.tier, ())
        values: dict[str, KpiValues] = {
            window: snapshot.values for window, snapshot in windows.items()
        }
        started = _ts(latest.as_of) if latest.as_of is not None else at
        for rule in rules:
            reading = measure(rule, values)
            if reading is None:
                continue  # no data: hold the current state
            key = alert_key(account_id, contact_point, rule.rule_id)
            states = self._accounts.setdefault(account_id, {})
            state = states.get(key)
            if state is None:
                state = states[key] = AlertState(kind="kpi", account=account)
                self._dirty.add(account_id)
            elif reading.value != state.value or account != state.account:
                self._dirty.add(account_id)
            state.account = account
            if state.value is not None and reading.value != state.value:
                state.previous = state.value
            state.value = reading.value
            severity = level(rule, reading.value, state.severity if state.firing else None)
            if state.firing and severity is None:
                if state.emitted_at is None:  # fired and recovered within one batch
                    out.append(self._alert(key, state, AlertStatus.FIRING, "new"))
                state.summary = describe(rule, reading, resolved=True)
                state.evidence = reading.evidence
                out.append(self._resolve(key, state, reason="recovered"))
                continue
            if severity is None:
                continue
            if not state.firing:
                state.firing, state.started_at, state.emitted_at = True, started, None
                self._firing[key] = account_id
            if severity != state.severity:
                self._dirty.add(account_id)
            state.severity = severity
            state.summary = describe(rule, reading, resolved=False)
            state.evidence = reading.evidence
            state.pending = state.emitted_value is not None and (
                abs(reading.value - state.emitted_value) >= rule.update_delta
            )
        foreign = self._foreign_rules.get(account.tier, self._all_rules)
        self._retire_rules(account_id, contact_point, foreign, out)

    def _retire_rules(
        self,
        account_id: str,
        contact_point: ContactPoint,
        rule_ids: tuple[str, ...],
        out: list[Alert],
    ) -> None:
        """Resolve and forget KPI states of rules that do not apply to the account's tier."""
        states = self._accounts.get(account_id)
        if not states:
            return
        for rule_id in rule_ids:
            key = alert_key(account_id, contact_point, rule_id)
            state = states.get(key)
            if state is None:
                continue
            if state.firing:
                out.append(self._resolve(key, state, reason="rule_not_applicable"))
            del states[key]
            self._dirty.add(account_id)

    def _decide(self, key: str, account_id: str, at: float) -> Alert | None:
        state = self._accounts[account_id][key]
        if state.kind == "event" and at - state.last_bad_at >= self._quiet:
            return self._resolve_quiet(key, account_id, state)
        transition: Transition
        if state.emitted_at is None:
            transition = "new"
        elif state.severity != state.emitted_severity or (
            state.pending and at - state.emitted_at >= self._update
        ):
            transition = "updated"
        elif at - state.emitted_at >= self._repeat:
            transition = "repeat"
        else:
            return None
        alert = self._alert(key, state, AlertStatus.FIRING, transition)
        state.emitted_at, state.emitted_severity, state.emitted_value = (
            at,
            state.severity,
            state.value,
        )
        state.pending = False
        self._dirty.add(account_id)
        return alert

    def _resolve_quiet(self, key: str, account_id: str, state: AlertState) -> Alert:
        """Resolve an event-level alert after its quiet period and forget its state."""
        state.summary = (
            f"No new bad experience for {duration_words(self._quiet)}: resolved "
            f"({state.count} since {_utc(state.started_at):%Y-%m-%d %H:%M} UTC)"
        )
        alert = self._resolve(key, state, reason="quiet_period")
        states = self._accounts[account_id]
        del states[key]
        if not states:
            del self._accounts[account_id]
        return alert

    def _resolve(self, key: str, state: AlertState, *, reason: str) -> Alert:
        alert = self._alert(key, state, AlertStatus.RESOLVED, "resolved", reason=reason)
        self._firing.pop(key, None)
        self._dirty.add(key.rsplit(":", 2)[0])
        state.firing, state.severity, state.pending = False, None, False
        state.emitted_at = state.emitted_severity = state.emitted_value = None
        return alert

    def _stamp(self, key: str) -> datetime:
        """``updated_at`` of a record: the processing time to the millisecond, and one
        millisecond after the key's record before it if that one is not older (a resolve and a
        new firing in one batch, a backlog judged step by step), so receivers ordering a key's
        records by it, and the alerts table's ``argMax(..., updated_at)``, keep them all."""
        last = self._stamps.get(key)
        ms = self._stamps[key] = self._now_ms if last is None else max(self._now_ms, last + 1)
        return _EPOCH + timedelta(milliseconds=ms)

    def _alert(
        self,
        key: str,
        state: AlertState,
        status: AlertStatus,
        transition: Transition,
        *,
        reason: str | None = None,
    ) -> Alert:
        account_id, contact_point, rule = key.rsplit(":", 2)
        evidence: dict[str, Any] = {"transition": transition}
        if reason is not None:
            evidence["reason"] = reason
        summary = state.summary
        if state.kind == "event":
            evidence.update(kind="event", bad_events=state.count, latest=state.evidence)
            if state.count > 1 and status is AlertStatus.FIRING:
                summary += (
                    f" ({state.count} times since {_utc(state.started_at):%Y-%m-%d %H:%M} UTC)"
                )
        else:
            evidence.update(state.evidence)
            evidence["previous"] = state.previous
            evidence["trend"] = _trend(state)
        account: AccountContext = state.account
        return Alert(
            alert_key=key,
            account_id=account_id,
            account_name=account.name,
            tier=account.tier,
            kam_owner=account.kam_owner,
            kam_team=account.kam_team,
            contact_point=ContactPoint(contact_point),
            rule=rule,
            severity=state.severity or Severity.INFO,
            status=status,
            summary=summary,
            evidence=evidence,
            event_ids=list(state.event_ids),
            started_at=_utc(state.started_at),
            updated_at=self._stamp(key),
        )


def _trend(state: AlertState) -> Literal["worse", "better", "steady"] | None:
    if state.previous is None or state.value is None:
        return None
    sign = 1.0 if state.evidence.get("direction", "above") == "above" else -1.0
    change = sign * (state.value - state.previous)
    return "worse" if change > 0 else "better" if change < 0 else "steady"
