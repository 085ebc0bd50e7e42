"""A known dataset for the analyst questions, stored the way the pipeline stores it.

Ten accounts (with tier changes) and 100 days of simulated touchpoints (every contact point,
bad experiences, invalid messages, two billing systems) are run hour by hour through the
worker's pure core (:func:`streams.replay.offline_processor`, the clock moving with the
events), its outputs are serialized as the worker sends them (``streams.app``), partitioned
as the broker does, and written by the sink's writer (:class:`sinks.clickhouse_writer.
ClickHouseWriter`: rows, batches, dedup) into chdb migrated with the project's migrations.

The Python side keeps what was published and what the core produced, so the tests can
recompute every answer without SQL. Everything is relative to :data:`NOW`, frozen when the
module loads; the tests run the documented SQL with ``now64(3)`` pinned to it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson

from kam.settings import TopicSettings
from producers.simulator import SimulationConfig, simulate_messages
from schemas import (
    Account,
    AccountTier,
    Alert,
    DeadLetter,
    EnrichedTouchpoint,
    KpiUpdate,
    Touchpoint,
)
from schemas.origins import Origin
from sinks.backend import ClickHouseBackend
from sinks.batching import TopicPartition
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.rows import SourceMessage
from sinks.runner import sink_routes
from streams.app import _records as worker_records
from streams.pipeline import BatchOutcome, TouchpointProcessor
from streams.replay import apply_state, offline_processor
from streams.validation import SourceRecord
from tests.integration.helpers import java_partition

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=100)
PARTITIONS = 4
TOPICS = TopicSettings(partitions=PARTITIONS)
STEP = timedelta(hours=1)
EVENTS = 900
SINK_ROUTES = sink_routes(TOPICS)
S, K, STD = AccountTier.STRATEGIC, AccountTier.KEY, AccountTier.STANDARD

ACCOUNTS = {  # id: (name, tier now, owner, team)
    "acct-0000": ("Atlas Foods", S, "ana", "iberia"),
    "acct-0001": ("Norte Pharma", S, "ben", "dach"),
    "acct-0002": ("Vega Motors", S, "ana", "iberia"),
    "acct-0003": ("Orion Retail", S, "carl", "nordics"),
    "acct-0004": ("Alba Energy", K, "ben", "dach"),
    "acct-0005": ("Nova Hotels", K, "dora", None),
    "acct-0006": ("Costa Textiles", K, "carl", "nordics"),
    "acct-0007": ("Delta Telecom", STD, None, None),
    "acct-0008": ("Sierra Chemicals", STD, None, "inside-sales"),
    "acct-0009": ("Titan Logistics", STD, None, "inside-sales"),
}
EARLIER = {  # id: (tier, owner, team, days ago the current version replaced it)
    "acct-0002": (K, "ana", "iberia", 95),
    "acct-0006": (STD, None, "inside-sales", 20),
    "acct-0007": (K, "dora", "dach", 5),
}
REPUBLISHED = {"acct-0003": 10}
"""Published again unchanged (days ago): a version, not a tier change."""


def _account(account_id: str, at: datetime, tier: AccountTier, owner: str | None,
             team: str | None) -> Account:  # fmt: skip
    name = ACCOUNTS[account_id][0]
    return Account(
        account_id=account_id, name=name, tier=tier, kam_owner=owner, kam_team=team,
        segment=name.split()[1].lower(), updated_at=at,
    )  # fmt: skip


def account_versions() -> list[Account]:
    """Every account record published, oldest first per account."""
    versions = []
    for account_id, (_, tier, owner, team) in ACCOUNTS.items():
        if account_id in EARLIER:
            old_tier, old_owner, old_team, days = EARLIER[account_id]
            versions.append(_account(account_id, NOW - timedelta(days=200), old_tier, old_owner,
                                     old_team))  # fmt: skip
            versions.append(_account(account_id, NOW - timedelta(days=days), tier, owner, team))
        else:
            versions.append(_account(account_id, START, tier, owner, team))
        if account_id in REPUBLISHED:
            at = NOW - timedelta(days=REPUBLISHED[account_id])
            versions.append(_account(account_id, at, tier, owner, team))
    return versions


def _event(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def _simulated() -> list[tuple[datetime, bytes]]:
    """(event time, bytes) of the simulated messages, billing split over two systems."""
    config = SimulationConfig(
        seed=2026, accounts=len(ACCOUNTS), start=START,
        mean_gap_seconds=(NOW - START - timedelta(hours=2)).total_seconds() / EVENTS,
        bad_probability=0.15, invalid_fraction=0.03,
    )  # fmt: skip
    found: list[tuple[datetime, bytes]] = []
    last = START
    for message in islice(simulate_messages(config), EVENTS):
        if message.event is None:  # invalid bytes: at the time of the event before them
            found.append((last, message.value))
            continue
        last = message.event.occurred_at
        if last >= NOW - timedelta(hours=1):
            break
        document = orjson.loads(message.value)
        if document["event_type"] in BILLING_TYPES:
            document["source_system"] = "sap" if int(message.key[-1]) % 2 else "netsuite"
        found.append((last, _event(document)))
    return found


BILLING_TYPES = frozenset(
    {"invoice_issued", "invoice_disputed", "dispute_resolved", "payment_received",
     "credit_note_issued", "payment_failed"}
)  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _touchpoint(event_id: str, account_id: str, event_type: str, at: datetime, *, system: str,
                payload: dict[str, Any]) -> bytes:  # fmt: skip
    return _event({
        "event_id": event_id, "account_id": account_id, "event_type": event_type,
        "occurred_at": _iso(at), "source_system": system, "schema_version": 1,
        "payload": payload,
    })  # fmt: skip


def _handcrafted() -> list[tuple[datetime, bytes]]:
    """Edge cases the simulation does not reliably produce."""
    opened = NOW - timedelta(days=2, hours=3) + timedelta(milliseconds=900)
    answered = opened + timedelta(seconds=600.5)  # 600 whole seconds: within 10 min
    met = NOW - timedelta(days=41, hours=5)
    ticket = {"ticket_id": "T-edge", "priority": "urgent", "opened_at": _iso(opened)}
    return [
        (answered, _touchpoint("edge-frt", "acct-0000", "ticket_first_response", answered,
                               system="helpdesk", payload=ticket)),
        (met, _touchpoint("edge-meet", "acct-0003", "executive_meeting_held", met, system="crm",
                          payload={"meeting_id": "M-edge"})),
        # Invalid messages in the last day (dead letters).
        (NOW - timedelta(hours=5), b'{"event_id": "cut-short"'),
        (NOW - timedelta(hours=4), b'{"event_id": "cut-short-too"'),
        (NOW - timedelta(hours=3), _touchpoint("edge-bad", "acct-0004", "csat_submitted",
                                               NOW - timedelta(hours=3), system="survey",
                                               payload={"score": 9})),
    ]  # fmt: skip


def _late_pair() -> tuple[tuple[datetime, bytes], tuple[datetime, bytes]]:
    """A fresh event, then (in a later batch, same stream time) a late one of the same
    account: two updates with one ``as_of`` and different values."""
    fresh_at = NOW - timedelta(seconds=90)
    late_at = NOW - timedelta(hours=2)
    fresh = _touchpoint("edge-fresh", "acct-0001", "csat_submitted", fresh_at, system="survey",
                        payload={"score": 5})  # fmt: skip
    delivery = {
        "shipment_id": "S-edge", "promised_at": _iso(late_at - timedelta(hours=30)),
        "delivered_at": _iso(late_at), "ordered_qty": 10, "delivered_qty": 10,
    }  # fmt: skip
    late = _touchpoint("edge-late", "acct-0001", "delivery_completed", late_at, system="tms",
                       payload=delivery)  # fmt: skip
    return (fresh_at, fresh), (late_at, late)


def _account_of(value: bytes) -> str:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return "acct-0000"
    account = document.get("account_id") if isinstance(document, dict) else None
    return account if isinstance(account, str) and account in ACCOUNTS else "acct-0000"


@dataclass
class Dataset:
    """What was published, what the core produced and when, for recomputations."""

    accounts: list[Account]
    processor: TouchpointProcessor
    enriched: list[EnrichedTouchpoint] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    kpi_updates: list[KpiUpdate] = field(default_factory=list)
    undecodable: list[tuple[str, datetime]] = field(default_factory=list)
    """(topic, Kafka time) of messages the sink cannot read (``sink_undecodable``)."""
    stream_time: dict[int, datetime] = field(default_factory=dict)
    """Per touchpoint partition: its stream time at the end."""
    messages: list[SourceMessage] = field(default_factory=list)
    """Everything the sink reads, in the order it is produced."""

    def partition(self, account_id: str) -> int:
        return java_partition(account_id, PARTITIONS)

    def current(self, account_id: str) -> Account:
        """The account's latest version (``accounts FINAL``)."""
        return max((a for a in self.accounts if a.account_id == account_id),
                   key=lambda a: a.updated_at or START)  # fmt: skip

    def at(self, account_id: str, moment: datetime) -> Account:
        """The version in force at ``moment`` (the first one before any)."""
        versions = sorted((a for a in self.accounts if a.account_id == account_id),
                          key=lambda a: a.updated_at or START)  # fmt: skip
        in_force = [v for v in versions if (v.updated_at or START) <= moment]
        return in_force[-1] if in_force else versions[0]

    @property
    def events(self) -> list[Touchpoint]:
        return [item.event for item in self.enriched]


class _Producer:
    """Offsets per topic-partition, as the broker assigns them."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._offsets: dict[tuple[str, int], int] = defaultdict(lambda: -1)

    def send(
        self, topic: str, key: bytes | None, value: bytes, at: datetime, *,
        origin: Origin | None = None,
    ) -> SourceMessage:  # fmt: skip
        partition = java_partition(key.decode(), PARTITIONS) if key else 0
        offset = self._offsets[topic, partition] = self._offsets[topic, partition] + 1
        message = SourceMessage(topic, partition, offset, value, at, origin)
        if topic in SINK_ROUTES:
            self._dataset.messages.append(message)
        return message


def _schedule() -> list[tuple[datetime, list[bytes]]]:
    """(processing time, messages) per step: each hour's events an instant after the hour."""
    timed = sorted(_simulated() + _handcrafted(), key=lambda pair: pair[0])
    steps: list[tuple[datetime, list[bytes]]] = []
    end, index = START + STEP, 0
    while end <= NOW - timedelta(minutes=10):
        values = []
        while index < len(timed) and timed[index][0] < end:
            values.append(timed[index][1])
            index += 1
        lag = 5 + (len(steps) * 17) % 50  # seconds after the hour: not minute-aligned
        steps.append((end + timedelta(seconds=lag), values))
        end += STEP
    (fresh_at, fresh), (_, late) = _late_pair()
    steps.append((fresh_at + timedelta(seconds=30), [fresh]))
    steps.append((fresh_at + timedelta(seconds=35), [late]))
    return steps


def build(store: ClickHouseBackend) -> Dataset:
    """Run the dataset through the core and the sink's writer into ``store`` (migrated)."""
    state: dict[str, bytes] = {}
    accounts = account_versions()
    processor = offline_processor(accounts, state=state, kpi_interval=0.0, idle_advance=300.0)
    dataset = Dataset(accounts=accounts, processor=processor)
    producer = _Producer(dataset)
    for account in accounts:
        producer.send(TOPICS.accounts, account.account_id.encode(),
                      account.model_dump_json().encode(), account.updated_at or START)  # fmt: skip
    schedule = _schedule()
    for now, values in schedule:
        records = []
        for value in values:
            message = producer.send(TOPICS.touchpoints, _account_of(value).encode(), value, now)
            records.append(SourceRecord(value, message.topic, message.partition, message.offset))
        outcome = processor.process(records, now=now) if records else processor.tick(now=now)
        apply_state(state, outcome)
        _keep(dataset, outcome)
        for record in worker_records(TOPICS, outcome):
            producer.send(record.topic, record.key, record.value, now, origin=record.origin)
    broken_at = NOW - timedelta(hours=2)
    producer.send(TOPICS.alerts, b"acct-0000", b"{not json", broken_at)
    dataset.undecodable.append((TOPICS.alerts, broken_at))
    last = schedule[-1][0]
    for partition in range(PARTITIONS):
        moment = processor.stream_now(partition, last)
        assert moment is not None
        dataset.stream_time[partition] = moment
    _store(store, dataset.messages)
    return dataset


def _keep(dataset: Dataset, outcome: BatchOutcome) -> None:
    dataset.enriched += outcome.enriched
    dataset.dead_letters += outcome.dead_letters
    dataset.alerts += outcome.alerts
    dataset.kpi_updates += outcome.kpi_updates


def _store(store: ClickHouseBackend, messages: Iterable[SourceMessage]) -> None:
    """What the sink does with these messages: batches per topic-partition, written in order."""
    writer = ClickHouseWriter(
        backend=store, routes=SINK_ROUTES, group_id="kam-sink", max_rows=5_000,
        max_seconds=1.0,
    )  # fmt: skip
    for message in messages:
        tp = TopicPartition(message.topic, message.partition)
        for batch in writer.add(tp, message.offset, message, now=0.0):
            writer.write(batch)
    for batch in writer.drain():
        writer.write(batch)


def whole_seconds(moment: datetime) -> int:
    """Epoch seconds, floored: ClickHouse's ``dateDiff('second', ...)`` counts these."""
    return math.floor(moment.timestamp())


def ch_round(value: float, digits: int) -> float:
    """ClickHouse's ``round`` of a Float64: scaled, rounded half to even, scaled back."""
    scale = 10.0**digits
    return round(value * scale) / scale

