"""Apply a batch of touchpoints to the states they touch, each state loaded and saved once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from schemas.touchpoints import ContactPoint, Touchpoint
from streams.kpis.config import KpiConfig
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
) -> BatchResult:
    """Apply ``events`` in order; missing states are created in ``states``."""
    result = BatchResult()
    for event in events:
        key = state_key(event)
        state = states.get(key)
        if state is None:
            state = states[key] = ContactPointState(contact_point=key.contact_point, config=config)
        outcome = state.apply(event)
        result.outcomes[outcome] += 1
        if outcome != "ignored":
            result.touched.add(key)
    return result


def apply_batch_encoded(
    table: MutableMapping[str, bytes], events: Sequence[Touchpoint], *, config: KpiConfig
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
    result = apply_batch(states, events, config=config)
    for key in result.touched:
        table[key.encode()] = states[key].to_bytes()
    return result, {key: states[key] for key in result.touched}
