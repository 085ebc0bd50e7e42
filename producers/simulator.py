"""A deterministic touchpoint simulator: accounts and a stream of events for demos and tests.

Pure: every random draw comes from ``random.Random`` instances seeded from the config, and event
times from ``start`` plus a simulated clock, so the same config always yields the same bytes.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from producers.exceptions import SimulationConfigError
from producers.scenarios import (
    SCENARIOS,
    AccountBehaviour,
    Scenario,
    TierService,
    served_faster,
)
from schemas import (
    ALERTING_TIERS,
    EVENT_TYPES,
    TOUCHPOINT_ADAPTER,
    Account,
    AccountTier,
    ContactPoint,
    FailureType,
    Touchpoint,
)

SOURCE_SYSTEMS = {
    ContactPoint.SALES: "crm",
    ContactPoint.LOGISTICS: "tms",
    ContactPoint.SUPPORT: "helpdesk",
    ContactPoint.BILLING: "erp",
}

DEFAULT_CONTACT_POINT_MIX: Mapping[ContactPoint, float] = {
    ContactPoint.SALES: 2, ContactPoint.LOGISTICS: 4, ContactPoint.SUPPORT: 3,
    ContactPoint.BILLING: 2,
}

DEFAULT_EVENT_MIX: Mapping[str, float] = {
    "quote_requested": 3, "quote_sent": 3, "order_placed": 4, "order_confirmed": 4,
    "order_changed": 1, "executive_meeting_held": 1,
    "shipment_dispatched": 5, "delivery_completed": 5, "delivery_failed": 1, "return_received": 1,
    "ticket_opened": 4, "ticket_first_response": 4, "ticket_resolved": 3, "ticket_reopened": 1,
    "ticket_escalated": 1, "csat_submitted": 2, "nps_submitted": 1,
    "invoice_issued": 5, "invoice_disputed": 1, "dispute_resolved": 1, "payment_received": 4,
    "credit_note_issued": 1, "payment_failed": 1,
}
"""Relative weights of the event types WITHIN their contact point."""

TIER_SHARES = ((AccountTier.STRATEGIC, 0.1), (AccountTier.KEY, 0.2))
"""Share of accounts per alerting tier; the rest are standard."""
TIER_ACTIVITY = {AccountTier.STRATEGIC: 3.0, AccountTier.KEY: 2.0, AccountTier.STANDARD: 1.0}
"""Relative number of events an account of each tier produces."""
TIER_SCORES = {AccountTier.STRATEGIC: (80, 100), AccountTier.KEY: (60, 80),
               AccountTier.STANDARD: (5, 60)}

NAMES = ("Iberia", "Atlas", "Norte", "Solaris", "Vega", "Delta", "Costa", "Meridian", "Orion",
         "Alba", "Nova", "Cumbre", "Levante", "Aurora", "Titan", "Sierra")
SECTORS = ("Foods", "Logistics", "Retail", "Pharma", "Motors", "Energy", "Textiles",
           "Chemicals", "Hotels", "Telecom")
KAM_OWNERS = ("Lucia Ortega", "Marc Vidal", "Ana Romero", "Jon Etxeberria", "Elena Sanz",
              "Pablo Iglesias Mora", "Sara Navarro", "David Casals")
KAM_TEAMS = ("kam-iberia", "kam-dach", "kam-france", "kam-nordics")

CHAIN_LINKS = 3
"""Bad events that name one troubled order of an account (``order_chains``)."""
ORDERED = frozenset(
    name for name, model in EVENT_TYPES.items()
    if "order_id" in model.model_fields["payload"].annotation.model_fields  # type: ignore[union-attr]
)
"""Event types whose payload can name an order."""

INVALID_KINDS = (FailureType.NOT_JSON, FailureType.NOT_UTF8, FailureType.SCHEMA_VIOLATION,
                 FailureType.UNKNOWN_EVENT_TYPE, FailureType.UNSUPPORTED_SCHEMA_VERSION)


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """What to simulate. ``bad_probability`` is per event, overall or per contact point."""

    seed: int = 0
    accounts: int = 50
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    mean_gap_seconds: float = 1.0
    contact_point_mix: Mapping[ContactPoint, float] = field(
        default_factory=lambda: dict(DEFAULT_CONTACT_POINT_MIX))
    event_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_MIX))
    bad_probability: float | Mapping[ContactPoint, float] = 0.05
    invalid_fraction: float = 0.0
    tier_service: TierService | None = None
    """How departments serve each tier; ``None``: nobody looks at tiers."""
    behaviour: Mapping[str, AccountBehaviour] = field(default_factory=dict)
    """Accounts (by id) that behave unlike their tier."""
    order_chains: float = 0.0
    """Share of the bad events of strategic and key accounts that name the account's troubled
    order (``order_id``), so one order goes wrong across departments: an incident chain. Each
    troubled order is named by :data:`CHAIN_LINKS` bad events, then the next one starts."""

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise SimulationConfigError("at least one account is needed")
        if self.start.tzinfo is None:
            raise SimulationConfigError("start must be timezone-aware")
        if self.mean_gap_seconds <= 0:
            raise SimulationConfigError("mean_gap_seconds must be positive")
        unknown = set(self.event_mix) - set(EVENT_TYPES)
        if unknown:
            raise SimulationConfigError(f"unknown event types in the mix: {sorted(unknown)}")
        probabilities = [
            self.invalid_fraction, self.order_chains, *map(self.bad_probability_of, ContactPoint)
        ]
        if any(not 0 <= p <= 1 for p in probabilities):
            raise SimulationConfigError("probabilities must lie in [0, 1]")
        if sum(self.contact_point_mix.values()) <= 0:
            raise SimulationConfigError("the contact point mix needs a positive weight")

    def bad_probability_of(self, contact_point: ContactPoint) -> float:
        if isinstance(self.bad_probability, Mapping):
            return self.bad_probability.get(contact_point, 0.0)
        return self.bad_probability


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    """One record to publish: a valid event (maybe a bad experience) or invalid bytes."""

    key: str
    value: bytes
    event: Touchpoint | None
    rule: str | None = None
    """Alert rule the event breaks (a bad experience), ``None`` for a good one."""
    invalid: FailureType | None = None
    """Why the bytes are not a valid touchpoint, ``None`` for a valid event."""


class _Weighted:
    """Weighted choice with precomputed cumulative weights."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> Any:
        return rng.choices(self.items, cum_weights=self.cum)[0]


def simulated_accounts(config: SimulationConfig) -> list[Account]:
    """``config.accounts`` accounts: 10% strategic, 20% key, the rest standard."""
    rng = random.Random(f"kam-sim:{config.seed}:accounts")
    names = [f"{name} {sector}" for name in NAMES for sector in SECTORS]
    rng.shuffle(names)
    counts = {tier: round(config.accounts * share) for tier, share in TIER_SHARES}
    accounts = []
    for i in range(config.accounts):
        tier = (AccountTier.STRATEGIC if i < counts[AccountTier.STRATEGIC]
                else AccountTier.KEY if i < sum(counts.values()) else AccountTier.STANDARD)
        name = names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")
        served = tier is not AccountTier.STANDARD
        accounts.append(
            Account(
                account_id=f"acct-{i:04d}",
                name=name,
                tier=tier,
                tier_score=round(rng.uniform(*TIER_SCORES[tier]), 1),
                kam_owner=rng.choice(KAM_OWNERS) if served else None,
                kam_team=rng.choice(KAM_TEAMS) if served else "inside-sales",
                segment=name.split()[1].lower(),
                updated_at=config.start,
            )
        )
    return accounts


class _Plan:
    """The weighted choices a config implies, validated once."""

    def __init__(self, config: SimulationConfig, accounts: list[Account]) -> None:
        behaviour = config.behaviour
        self.accounts = _Weighted([a.account_id for a in accounts], [
            (b.activity if (b := behaviour.get(a.account_id)) and b.activity is not None
             else TIER_ACTIVITY[a.tier]) for a in accounts])  # fmt: skip
        self.tiers = {a.account_id: a.tier for a in accounts}
        self.service = config.tier_service
        self.behaviour = behaviour
        mix = config.contact_point_mix
        points = [cp for cp in ContactPoint if mix.get(cp, 0) > 0]
        self.contact_points = _Weighted(points, [mix[cp] for cp in points])
        self.bad = {cp: config.bad_probability_of(cp) for cp in points}
        self.good_scenarios = {cp: self._scenarios(config, cp, bad=False) for cp in points}
        self.bad_scenarios = {cp: self._scenarios(config, cp, bad=True) for cp in points}

    @staticmethod
    def _scenarios(config: SimulationConfig, cp: ContactPoint, *, bad: bool) -> _Weighted | None:
        chosen = [s for s in SCENARIOS if s.contact_point is cp and (s.rule is not None) == bad
                  and config.event_mix.get(s.event_type, 0) > 0]
        needed = (config.bad_probability_of(cp) > 0 if bad else
                  config.bad_probability_of(cp) < 1 or config.tier_service is not None
                  or bool(config.behaviour))
        if not chosen:
            if needed:
                kind = "bad" if bad else "good"
                raise SimulationConfigError(f"the event mix has no {kind} {cp.value} event type")
            return None
        # A type with several bad renderings (late/short/damaged) splits its weight evenly.
        per_type = {s.event_type: sum(c.event_type == s.event_type for c in chosen) for s in chosen}
        return _Weighted(chosen, [config.event_mix[s.event_type] / per_type[s.event_type]
                                  for s in chosen])


def simulate_messages(config: SimulationConfig) -> Iterator[SimulatedMessage]:
    """The endless message stream of ``config``; take as many as needed (``islice``)."""
    rng = random.Random(f"kam-sim:{config.seed}:events")
    plan = _Plan(config, simulated_accounts(config))
    clock = 0.0
    troubled: dict[str, int] = {}
    """Per account: bad events that named its troubled order so far."""
    chains = random.Random(f"kam-sim:{config.seed}:chains")  # the other draws stay as they are
    while True:
        clock += rng.expovariate(1 / config.mean_gap_seconds)
        at = config.start + timedelta(milliseconds=round(clock * 1000))
        invalid = rng.random() < config.invalid_fraction
        account_id = plan.accounts.pick(rng)
        cp = plan.contact_points.pick(rng)
        tier, service = plan.tiers[account_id], plan.service
        behaviour = plan.behaviour.get(account_id)
        factor = (1.0 if service is None else service.bad(cp, tier)) * (
            1.0 if behaviour is None else behaviour.bad_factor)
        bad = rng.random() < min(1.0, plan.bad[cp] * factor)
        choices = plan.bad_scenarios[cp] if bad else plan.good_scenarios[cp]
        assert choices is not None  # _Plan guarantees it for every reachable draw
        scenario: Scenario = choices.pick(rng)
        document = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "account_id": account_id,
            "occurred_at": at.isoformat(),
            "source_system": SOURCE_SYSTEMS[cp],
            "schema_version": 1,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "event_type": scenario.event_type,
            "payload": scenario.render(rng, at),
        }
        if service is not None and scenario.rule is None:
            document["payload"] = served_faster(document["payload"], at, service.speed(cp, tier))
        if behaviour is not None:
            document["payload"] = behaviour.apply(document["payload"], rng)
        if (config.order_chains and scenario.rule is not None and tier in ALERTING_TIERS
                and scenario.event_type in ORDERED and chains.random() < config.order_chains):
            named = troubled[account_id] = troubled.get(account_id, 0) + 1
            order = f"SO-{account_id}-{(named - 1) // CHAIN_LINKS + 1}"
            document["payload"] = {**document["payload"], "order_id": order}
        if invalid:
            kind: FailureType = rng.choice(INVALID_KINDS)
            yield SimulatedMessage(account_id, _corrupt(kind, document), None, invalid=kind)
            continue
        event = TOUCHPOINT_ADAPTER.validate_python(document)
        yield SimulatedMessage(account_id, event.model_dump_json().encode(), event,
                               rule=scenario.rule)


def _corrupt(kind: FailureType, document: dict[str, Any]) -> bytes:
    """Bytes that fail validation with exactly ``kind``."""
    if kind is FailureType.NOT_JSON:
        return json.dumps(document).encode()[:-7]
    if kind is FailureType.NOT_UTF8:
        return b"\xff\xfe" + json.dumps(document).encode("utf-16-le")
    if kind is FailureType.UNKNOWN_EVENT_TYPE:
        return json.dumps({**document, "event_type": "fax_received"}).encode()
    if kind is FailureType.UNSUPPORTED_SCHEMA_VERSION:
        return json.dumps({**document, "schema_version": 2}).encode()
    return json.dumps({**document, "payload": {**document["payload"], "legacy_code": 7}}).encode()
