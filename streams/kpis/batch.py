"""Apply a batch of touchpoints to the states they touch, each state loaded and saved once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from schemas.touchpoints import ContactPoint, Touchpoint
from streams.kpis.config import KpiConfig
from streams.kpis.spec import Kpis
from streams.kpis.state import ApplyOutcome, ContactPointState


class StateKey(NamedTuple):
    account_id: str
    contact_point: ContactPoint

    def encode(self) -> str:
        """Table key ``"<contact point>:<account id>"``."""
        return f"{self.contact_point}:{self.account_id}"

    @classmethod
    def decode(cls, key: str) -> StateKey:
        contact_point, account_id = key.split(":", 1)
        return cls(account_id, ContactPoint(contact_point))


@dataclass(slots=True)
class BatchResult:
    touched: set[StateKey] = field(default_factory=set)
    """Keys whose state changed (applied or too late): write these back once."""
    outcomes: Counter[ApplyOutcome] = field(default_factory=Counter)


def state_key(event: Touchpoint) -> StateKey:
    return StateKey(event.account_id, ContactPoint(event.contact_point))


def apply_batch(
    states: MutableMapping[StateKey, ContactPointState],
    events: Iterable[Touchpoint],
    *,
    config: KpiConfig,
    now: datetime | None = None,
) -> BatchResult:
    """Apply ``events`` in order; missing states are created in ``states``.

    ``now`` (the wall clock) enables the ``too_early`` guard against far-future event times.
    """
    result = BatchResult()
    for event in events:
        key = state_key(event)
        state = states.get(key)
        if state is None:
            state = states[key] = ContactPointState(contact_point=key.contact_point, config=config)
        outcome = state.apply(event, now=now)
        result.outcomes[outcome] += 1
        if outcome in ("applied", "too_late"):
            result.touched.add(key)
    return result


def apply_batch_encoded(
    table: MutableMapping[str, bytes],
    events: Sequence[Touchpoint],
    *,
    config: KpiConfig,
    now: datetime | None = None,
) -> tuple[BatchResult, dict[StateKey, ContactPointState]]:
    """Like :func:`apply_batch` on a table of encoded states (e.g. a Faust table).

    Each touched state is decoded once, updated and written back once; the decoded touched
    states are returned too, for snapshots.
    """
    states: dict[StateKey, ContactPointState] = {}
    for key in {state_key(event) for event in events}:
        raw = table.get(key.encode())
        if raw is not None:
            states[key] = ContactPointState.from_bytes(raw, config=config)
    result = apply_batch(states, events, config=config, now=now)
    for key in result.touched:
        table[key.encode()] = states[key].to_bytes()
    return result, {key: states[key] for key in result.touched}


def account_snapshots(
    table: Mapping[str, bytes],
    account_id: str,
    *,
    as_of: datetime,
    window: str,
    config: KpiConfig,
) -> dict[ContactPoint, Kpis]:
    """Snapshots of every contact point of one account that has a stored state.

    Feed the result to :func:`streams.kpis.score.score_account`.
    """
    snapshots = {}
    for contact_point in ContactPoint:
        raw = table.get(StateKey(account_id, contact_point).encode())
        if raw is not None:
            state = ContactPointState.from_bytes(raw, config=config)
            snapshots[contact_point] = state.snapshot(as_of=as_of, window=window)
    return snapshots
