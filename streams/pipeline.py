"""The stream worker's pure core: one batch of raw touchpoint messages in, everything to emit out.

Per batch: validate every message (dead letters for the rest), enrich with the account's tier,
tag single-event bad experiences, roll the events into per account x contact point KPI states,
let the alert book decide what to fire, update or resolve, and list the state to persist. No
Kafka and no Faust here: :mod:`streams.app` feeds batches in and sends the outcome on.
"""

from __future__ import annotations

import heapq
import logging
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import orjson

from schemas import (
    ALERTING_TIERS,
    AccountContext,
    Alert,
    ContactPoint,
    DeadLetter,
    EnrichedTouchpoint,
    KpiUpdate,
    Touchpoint,
)
from schemas.origins import Origin
from streams.alerting import AlertBook, AlertRulesConfig, KpiSnapshot, bad_experience
from streams.alerting.book import StreamClock
from streams.alerting.chains import IncidentChains
from streams.decoded import Decoded, DecodedStates
from streams.enrichment import AccountDirectory
from streams.kpis import ContactPointState, KpiConfig, score_contact_point
from streams.kpis.score import combine_scores
from streams.kpis.state import window_bounds
from streams.state import (
    RECENT_EVENTS,
    alerts_key,
    chain_key,
    compact_json,
    counted_offset,
    decode_counted,
    encode_counted,
    event_fingerprint,
    judged_key,
    kpi_key,
    kpi_mark_key,
    offset_key,
    outbox_key,
    parse_chain_key,
    parse_key,
    stream_key,
    watermark,
)
from streams.validation import SourceRecord, ValidationPolicy, processing_error, validate_record

log = logging.getLogger(__name__)
EXPERIENCE_SCORE = "experience_score"
WORST_OF_POOR = "worst_of_poor"
OVERALL: Final = "overall"
Fresh = Mapping[int, list[tuple[int, EnrichedTouchpoint]]]
"""Per source partition: (offset, event) of the events not seen before the last crash."""
StateWrites = dict[int, dict[str, bytes | None]]
"""Per source partition: state key -> new value (``None`` deletes the key)."""
Windows = dict[str, dict[str, float | None]]
"""Window name -> KPI name -> value."""
AlertRecord = tuple[str, Origin, bytes]
"""(account id, origin, the alert's JSON): an alert as sent, and as kept in the outbox."""


@dataclass(slots=True)
class BatchOutcome:
    """What one batch (or one tick) produces."""

    enriched: list[EnrichedTouchpoint] = field(default_factory=list)
    enriched_sources: list[tuple[str, int, int]] = field(default_factory=list)
    """(topic, partition, offset) of the message of each enriched touchpoint."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    alert_records: list[AlertRecord] = field(default_factory=list)
    """The alerts numbered in their partition's sequence, as sent (and kept in the outbox)."""
    kpi_updates: list[KpiUpdate] = field(default_factory=list)
    state_writes: StateWrites = field(default_factory=lambda: defaultdict(dict))
    replayed: int = 0
    """Events at or below their partition's watermark: re-emitted, not counted again."""
    too_late: int = 0
    """Events older than the longest KPI window: kept and enriched, not in any KPI."""
    duplicates: int = 0
    """Events whose id was already counted (a source system sent them twice)."""

    def extend(self, other: BatchOutcome) -> None:
        """Add a later outcome of the same batch to this one (later state writes win)."""
        self.enriched += other.enriched
        self.enriched_sources += other.enriched_sources
        self.dead_letters += other.dead_letters
        self.alerts += other.alerts
        self.alert_records += other.alert_records
        self.kpi_updates += other.kpi_updates
        for partition, writes in other.state_writes.items():
            mine = self.state_writes[partition]
            for key, value in writes.items():  # a key written again goes to its new place
                mine.pop(key, None)
                mine[key] = value
        self.replayed += other.replayed
        self.too_late += other.too_late
        self.duplicates += other.duplicates


class _Touched(NamedTuple):
    """An account x contact point key of a partition (a tuple: hashed and built in C)."""

    partition: int
    account_id: str
    contact_point: ContactPoint


class _Rolled(NamedTuple):
    """A KPI state after a batch and the offset of the last event it counted."""

    state: ContactPointState
    counted: int


class _Computed(NamedTuple):
    as_of: datetime
    windows: Windows
    counted: int


class _Scored(NamedTuple):
    """A key's experience scores (per window, in the configured order) as last computed, and
    until when they hold: no new event since, and the stream time before ``until``."""

    as_of: int
    until: int | None
    """When its windows next change by themselves (``None``: never, they are empty)."""
    counted: int
    scores: tuple[float | None, ...]

    def hold_at(self, moment: int) -> bool:
        return self.as_of <= moment and (self.until is None or moment < self.until)


SCORE_MEMO_KEYS: Final = 20_000
"""Keys whose last scores are kept for their accounts' health (oldest dropped first): a
contact point with no news is not decoded and computed again for every health update."""


class TouchpointProcessor:
    """Validates, enriches, rolls KPIs and evaluates alert rules, a batch at a time.

    ``state`` is the worker's state table (read here, written by the caller from
    :attr:`BatchOutcome.state_writes`); the decoded states of at most ``kpi_state_cache`` keys
    counted more than once are kept beside it (:mod:`streams.decoded`), the rest is held only
    in its compact encoded form.
    """

    _scored: dict[_Touched, _Scored]
    _last_bounds: tuple[datetime | None, dict[str, tuple[datetime, datetime]]]
    flush_in_ticks: bool = False
    """Set while the timer drives a KPI flush (a slice, a rest, the next slice): batches then
    leave the flush under way to :meth:`tick` and only count their events, so that none waits
    for a flush slice of its own besides the timer's."""

    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        state: Mapping[str, bytes],
        policy: ValidationPolicy,
        kpis: KpiConfig,
        alert_rules: AlertRulesConfig,
        kpi_interval: float = 10.0,
        idle_advance: float = 0.0,
        kpi_stream_interval: float = 0.0,
        kpi_flush_keys: int = 0,
        kpi_judge_step: float = 0.0,
        kpi_state_cache: int = 0,
        kpi_flush_seconds: float = 0.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._accounts = accounts
        self._state = state
        self._policy = policy
        self._kpis = kpis
        self._rules = alert_rules
        self._book = AlertBook(config=alert_rules)
        self._chains = IncidentChains(config=alert_rules)
        self._kpi_interval = kpi_interval
        self._idle_advance = idle_advance
        """Seconds the stream time may lag the clock while a partition is quiet (0: never
        advanced by the clock, stream time is event time only)."""
        self._stream: dict[int, int] = {}  # per partition: the latest event time seen, epoch s
        self._kpi_stream_interval = kpi_stream_interval
        """Stream seconds between two KPI updates of a partition's keys while its stream time
        moves (0: no such limit); bounds the updates of a backfill by its span, not its size."""
        self._flushed_stream: dict[int, int] = {}
        self._pass_stream: dict[int, int] = {}
        self._held: set[int] = set()
        self._expiries: dict[int, list[tuple[int, str, ContactPoint]]] = defaultdict(list)
        """Per partition, a heap of (stream time, account, contact point): when data leaves a
        window of a key, so its KPIs change with no new event and are sent again."""
        self._next_kpi_flush = float("-inf")
        self._kpi_pending: set[_Touched] = set()
        self._kpi_resend: set[_Touched] = set()
        """Keys only replayed since the last flush: their update is sent again, unjudged."""
        self._partition_of: dict[str, int] = {}
        self._sequences: dict[int, int] = {}
        """Per partition: the number of the last alert sent (stored with the outbox)."""
        self._outbox_full: set[int] = set()
        self._kpi_marks: dict[int, int] = {}
        """Per partition: its offset watermark at the last KPI flush, recorded (as delivered)
        with the next flush, once the updates of the last one have reached the broker."""
        self._recorded_marks: dict[int, int] = {}
        self._flushed = False
        self._flush_keys = kpi_flush_keys
        """Keys a batch or tick computes of a flush under way (0: the whole flush at once)."""
        # Seconds a batch or tick computes of a flush under way, at most (0: no time limit):
        # the slice ends at whichever of the two limits comes first.
        self._flush_seconds = kpi_flush_seconds
        self._clock = clock
        self._cycle: list[_Touched] = []
        """The keys of the flush under way still to compute, the next one last."""
        # Decoded states of keys counted more than once (at most ``kpi_state_cache``), and
        # keys' last scores, forgotten when the key counts an event (see :class:`_Scored`).
        self._decoded: DecodedStates[_Touched] = DecodedStates(kpi_state_cache)
        self._forget_decoded()
        self._cycle_judged: set[_Touched] = set()
        self._cycle_started = False
        self._cycle_marks: dict[int, int] | None = None
        self._judge_step = int(kpi_judge_step)
        """Seconds of stream time between two judgments of the KPI alert rules (0: they judge
        each KPI flush instead, paced by processing time)."""
        self._judged_lines: dict[int, tuple[int, int]] = {}
        """Per partition: (step index, last offset covered) of its last judgment."""
        self._unjudged: dict[int, set[_Touched]] = defaultdict(set)
        """Per partition: the alerting keys changed since its last judgment."""
        self._verdicts: list[KpiSnapshot] = []
        self._judged_dirty: set[int] = set()
        """Snapshots of the judgments of the batch under way, in the order they were made."""

    # --- batches ---------------------------------------------------------------------------
    def process(self, records: Sequence[SourceRecord], *, now: datetime) -> BatchOutcome:
        """The batch's outcome; a record that trips a bug becomes a ``processing_error``
        dead letter instead of stopping its partition (the rest is processed one by one)."""
        judged = dict(self._judged_lines), {p: set(k) for p, k in self._unjudged.items()}
        try:
            outcome = self._process(records, now=now)
        except Exception:
            log.exception("a batch of %d records failed; isolating the culprit", len(records))
            self._judged_lines, unjudged = judged  # judged again, record by record
            self._unjudged = defaultdict(set, unjudged)
            self._verdicts, self._judged_dirty = [], set(self._judged_lines)
            self._forget_decoded()  # it may hold states the failed batch changed
            outcome = BatchOutcome()
            for record in records:
                try:
                    outcome.extend(self._process([record], now=now))
                except Exception as error:
                    log.exception(
                        "record %s:%d:%d failed", record.topic, record.partition, record.offset
                    )
                    outcome.dead_letters.append(processing_error(record, error, now=now))
        self._sequence_alerts(outcome)
        _decisions_first(outcome)
        return outcome

    def _process(self, records: Sequence[SourceRecord], *, now: datetime) -> BatchOutcome:
        outcome = BatchOutcome()
        marks = {p: watermark(self._state, p) for p in {r.partition for r in records}}
        fresh: dict[int, list[tuple[int, EnrichedTouchpoint]]] = defaultdict(list)
        seen: list[tuple[SourceRecord, EnrichedTouchpoint]] = []
        for record in records:
            result = validate_record(record, now=now, policy=self._policy)
            if isinstance(result, DeadLetter):
                outcome.dead_letters.append(result)
                continue
            item = self._enrich(result, now)
            outcome.enriched.append(item)
            outcome.enriched_sources.append((record.topic, record.partition, record.offset))
            seen.append((record, item))
            if record.offset <= marks[record.partition]:
                outcome.replayed += 1  # counted before a crash; its KPIs are sent again
                event = item.event
                self._kpi_resend.add(
                    _Touched(record.partition, event.account_id, event.contact_point)
                )
            else:
                fresh[record.partition].append((record.offset, item))
        self._restore_alerts({(r.partition, i.event.account_id) for r, i in seen})
        moments: list[float] = []
        touched = self._roll_kpis(fresh, outcome, now, moments)
        events = [item for items in fresh.values() for _, item in items]
        outcome.kpi_updates, snapshots = self._due_kpis(now, touched, batch=True)
        snapshots = [*self._take_verdicts(), *snapshots]
        outcome.alerts = self._book.evaluate(
            now=now, events=events, seen=moments, snapshots=snapshots, clock=self._alert_clock(now)
        )
        self._collect_alert_states(outcome)
        self._evaluate_chains(outcome, now, fresh, moments)
        self._write_judged_lines(outcome)
        tops = {r.partition: max(marks[r.partition], r.offset) for r in records}
        self._record_kpi_marks(outcome, tops)
        for record in records:  # last: the watermark follows the states it covers
            marks[record.partition] = max(marks[record.partition], record.offset)
        for partition, mark in marks.items():
            outcome.state_writes[partition][offset_key(partition)] = str(mark).encode()
        return outcome

    def tick(self, *, now: datetime) -> BatchOutcome:
        """Time-driven work with no new events: repeats, quiet resolves, throttled KPIs."""
        outcome = BatchOutcome()
        if self._judge_step:
            floor = self._clock_floor(now)
            for partition in sorted({*self._partition_of.values(), *self._judged_lines}):
                self._judge_if_due(
                    partition, mark=self._stream_time(partition), floor=floor, states={},
                    outcome=outcome,
                )  # fmt: skip
        outcome.kpi_updates, snapshots = self._due_kpis(now, {}, batch=False)
        snapshots = [*self._take_verdicts(), *snapshots]
        outcome.alerts = self._book.evaluate(
            now=now, snapshots=snapshots, clock=self._alert_clock(now)
        )
        self._collect_alert_states(outcome)
        self._evaluate_chains(outcome, now)
        self._write_judged_lines(outcome)
        self._record_kpi_marks(outcome, {})
        self._sequence_alerts(outcome)
        _decisions_first(outcome)
        return outcome

    # --- ownership after rebalances --------------------------------------------------------
    def load(self, partitions: Iterable[int]) -> int:
        """Take over the alert states of ``partitions`` from the state table (returns how many
        accounts have some) and their incident chains, and send again the KPI updates a crash
        may have kept from the broker."""
        owned = set(partitions)
        self._forget_decoded()
        delivered = {p: int(self._state.get(kpi_mark_key(p)) or -1) for p in owned}
        judged = {p: line[1] for p in owned if (line := self._judged_line(p)) is not None}
        loaded = 0
        for key, raw in list(self._state.items()):
            partition, kind, rest = parse_key(key)
            if partition not in owned or raw is None:
                continue
            if kind == "alerts":
                self._book.restore(rest, orjson.loads(raw))
                self._partition_of[rest] = partition
                loaded += 1
            elif kind == "chain":
                account_id, order_id = parse_chain_key(rest)
                self._chains.restore((partition, account_id, order_id), orjson.loads(raw))
                self._partition_of.setdefault(account_id, partition)  # alerts are numbered by it
            elif kind == "kpi":
                contact_point, account_id = rest.split(":", 1)
                touched = _Touched(partition, account_id, ContactPoint(contact_point))
                if counted_offset(raw) > delivered[partition]:
                    self._kpi_resend.add(touched)
                if self._judge_step and counted_offset(raw) > judged.get(partition, -1):
                    self._unjudged[partition].add(touched)  # changed since its last judgment
                mark = self._stream_time(partition)
                if mark is not None:
                    as_of = datetime.fromtimestamp(mark, UTC)
                    self._schedule(touched, self._kpi_state(touched)[0], as_of)
        return loaded

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what this worker held for partitions it no longer owns."""
        gone = set(partitions)
        for account_id in [a for a, p in self._partition_of.items() if p in gone]:
            self._book.restore(account_id, None)
            del self._partition_of[account_id]
        self._kpi_pending = {key for key in self._kpi_pending if key.partition not in gone}
        self._kpi_resend = {key for key in self._kpi_resend if key.partition not in gone}
        self._cycle = [key for key in self._cycle if key.partition not in gone]
        if self._cycle_marks is not None:
            self._cycle_marks = {p: m for p, m in self._cycle_marks.items() if p not in gone}
        for partition in gone:
            self._sequences.pop(partition, None)
            self._judged_lines.pop(partition, None)
            self._unjudged.pop(partition, None)
        self._judged_dirty -= gone
        self._outbox_full -= gone
        for partition in gone:
            self._kpi_marks.pop(partition, None)
            self._flushed_stream.pop(partition, None)
            self._pass_stream.pop(partition, None)
            self._expiries.pop(partition, None)
            self._recorded_marks.pop(partition, None)
        self._book.drain_changes()
        self._chains.forget(gone)
        self._scored = {k: v for k, v in self._scored.items() if k.partition not in gone}
        self._decoded.retain(lambda key: key.partition not in gone)

    def outbox(self, partitions: Iterable[int]) -> list[AlertRecord]:
        """The last alerts of ``partitions`` that may not have reached the broker before a
        crash: stored before they were sent, so a new owner sends them again (consumers drop
        what they already have by its origin)."""
        records: list[AlertRecord] = []
        for partition in sorted(partitions):
            box = self._outbox(partition)
            self._sequences[partition] = box["seq"]
            if box["alerts"]:
                self._outbox_full.add(partition)  # emptied by the next batch or tick
            records += [
                (account_id, _alert_origin(partition, seq), value.encode())
                for seq, account_id, value in box["alerts"]
            ]
        return records

    def _forget_decoded(self) -> None:
        """Drop every decoded state and score kept: the table is the truth again."""
        self._decoded.clear()
        self._scored = {}
        self._last_bounds = None, {}

    # --- steps -----------------------------------------------------------------------------
    def _enrich(self, event: Touchpoint, now: datetime) -> EnrichedTouchpoint:
        context = self._accounts.context(event.account_id, at=event.occurred_at)
        bad = bad_experience(event, self._rules.event_rules_for(context.tier))
        # Its parts are validated models already: construct without validating them again.
        return EnrichedTouchpoint.model_construct(
            event=event,
            account=context,
            bad_experience=bad.summary if bad else None,
            processed_at=now,
        )

    def _restore_alerts(self, accounts: Iterable[tuple[int, str]]) -> None:
        """Bring the alert states of accounts seen for the first time into the book."""
        for partition, account_id in accounts:
            if account_id in self._partition_of:
                continue
            shared = sys.intern(account_id)  # the accounts table's key (streams.app)
            self._partition_of[shared] = partition
            raw = self._state.get(alerts_key(partition, shared))
            if raw is not None:
                self._book.restore(shared, orjson.loads(raw))

    def _roll_kpis(
        self, fresh: Fresh, outcome: BatchOutcome, now: datetime, seen: list[float]
    ) -> dict[_Touched, _Rolled]:
        """Apply fresh events to their KPI states, each state decoded and encoded once, and
        list in ``seen`` the stream time once each was read (where alert rules judge it).

        Each state is stored with the offset of the last event it counted, so an event is
        counted once even when a crash left only part of a batch's writes behind.
        """
        states: dict[_Touched, tuple[ContactPointState, int, list[int]]] = {}
        changed: set[_Touched] = set()
        floor = self._clock_floor(now)
        clock = int(now.timestamp())
        for partition, items in fresh.items():
            mark = self._stream_time(partition)
            self._judge_if_due(  # the clock moved it
                partition, mark=mark, floor=floor, states=states, outcome=outcome
            )
            for offset, item in items:
                event = item.event
                key = _Touched(partition, event.account_id, event.contact_point)
                state, counted, recent = states.get(key) or self._kpi_state(key, owned=True)
                fingerprint = event_fingerprint(event.event_id)
                duplicate = offset <= counted or fingerprint in recent
                if duplicate:
                    outcome.duplicates += offset > counted
                elif event.occurred_at <= now + self._kpis.max_future_skew:  # else: no effect
                    at = int(event.occurred_at.timestamp())
                    moved = at if mark is None else max(mark, at)
                    self._judge_if_due(
                        partition, mark=mark, floor=floor, states=states, outcome=outcome,
                        moved=moved, offset=offset,
                    )  # fmt: skip
                    mark = moved
                    state.advance(max(mark, floor))  # too late: older than retention behind it
                    applied = state.apply(event, now=now)
                    if applied == "too_late":
                        outcome.too_late += 1
                    elif applied == "applied":
                        changed.add(key)
                        self._note_unjudged(key, item, offset)
                seen.append(float(max(clock if mark is None else mark, floor)))
                if not duplicate:
                    recent = [*recent[1 - RECENT_EVENTS :], fingerprint]
                    states[key] = (state, offset, recent)
            if mark is not None and mark != self._stream.get(partition):
                self._stream[partition] = mark
                outcome.state_writes[partition][stream_key(partition)] = str(mark).encode()
        touched = {}
        for key, (state, counted, recent) in states.items():
            self._scored.pop(key, None)
            value = encode_counted(counted, recent, state.to_bytes())
            name = kpi_key(key.partition, key.account_id, key.contact_point)
            if name in self._state:  # counted before: likely again soon
                self._decoded.keep(key, value, Decoded(state, counted, recent))
            outcome.state_writes[key.partition][name] = value
            if key in changed:  # a key whose events all were too late has nothing new to say
                touched[key] = _Rolled(state, counted)
        return touched

    def _judge_if_due(
        self,
        partition: int,
        *,
        mark: int | None,
        floor: int,
        states: Mapping[_Touched, tuple[ContactPointState, int, list[int]]],
        outcome: BatchOutcome,
        moved: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Judge the KPI rules on the partition's changed keys when its stream time enters a
        new step of ``kpi_judge_step`` seconds: on the states as they stood before the event
        that moves it there (``moved``, read at ``offset``), or before the batch when the
        clock moved it. The judgments then follow from the partition's records alone, however
        they were batched, delayed or read again after a crash."""
        if not self._judge_step:
            return
        before = None if mark is None else max(mark, floor)
        after = before if moved is None else max(moved, floor)
        if after is None:
            return
        index = after // self._judge_step
        last = self._judged_line(partition)
        if last is not None and index <= last[0]:
            return
        covered = watermark(self._state, partition) if offset is None else offset - 1
        self._judged_lines[partition] = (index, covered)
        self._judged_dirty.add(partition)  # stored after the alert states it leads to
        keys = self._unjudged.pop(partition, set())
        if before is None or last is None:
            return  # the partition's first step: nothing was judged before it
        as_of = datetime.fromtimestamp(before, UTC)
        for key in sorted(keys, key=lambda k: (k.account_id, k.contact_point)):
            state = states[key][0] if key in states else self._kpi_state(key)[0]
            context = self._accounts.context(key.account_id, at=as_of)
            if state.hwm is not None and self._alerting(key, context):
                windows = self._windows(state, key.contact_point, as_of)
                self._verdicts += _snapshots(key, context, windows, as_of)

    def _note_unjudged(self, key: _Touched, item: EnrichedTouchpoint, offset: int) -> None:
        """Remember a changed key of an alerting account for the partition's next judgment,
        unless a judgment already covers its event (read again after a crash)."""
        if not self._judge_step:
            return
        if self._alerting(key, item.account):
            line = self._judged_line(key.partition)
            if line is None or offset > line[1]:
                self._unjudged[key.partition].add(key)

    def _judged_line(self, partition: int) -> tuple[int, int] | None:
        """(step index, last offset covered) of the partition's last KPI judgment."""
        if partition not in self._judged_lines:
            raw = self._state.get(judged_key(partition))
            if raw is None:
                return None
            index, covered = raw.decode().split(":")
            self._judged_lines[partition] = (int(index), int(covered))
        return self._judged_lines[partition]

    def _write_judged_lines(self, outcome: BatchOutcome) -> None:
        for partition in sorted(self._judged_dirty):
            index, covered = self._judged_lines[partition]
            outcome.state_writes[partition][judged_key(partition)] = f"{index}:{covered}".encode()
        self._judged_dirty.clear()

    def _take_verdicts(self) -> list[KpiSnapshot]:
        verdicts, self._verdicts = self._verdicts, []
        return verdicts

    def _alert_clock(self, now: datetime) -> StreamClock:
        """The stream time of each account's partition, where the alert lifecycle runs."""
        at, floor = now.timestamp(), self._clock_floor(now)
        moments: dict[int | None, float] = {None: at}

        def clock(account_id: str) -> float:
            partition = self._partition_of.get(account_id)
            if partition not in moments:
                mark = self._stream_time(partition) if partition is not None else None
                moments[partition] = at if mark is None else float(max(mark, floor))
            return moments[partition]

        return clock

    def _clock_floor(self, now: datetime) -> int:
        """The earliest stream time the clock allows (``idle_advance`` behind it)."""
        if self._idle_advance <= 0:
            return -(2**62)
        return int(now.timestamp() - self._idle_advance)

    def _stream_time(self, partition: int) -> int | None:
        """The latest event time seen in ``partition`` (epoch seconds), ``None`` before any."""
        if partition not in self._stream:
            raw = self._state.get(stream_key(partition))
            if raw is None:
                return None
            self._stream[partition] = int(raw)
        return self._stream[partition]

    def stream_now(self, partition: int, now: datetime) -> datetime | None:
        """The partition's stream time, where its windows end: the latest event time seen,
        never more than ``idle_advance`` behind the clock (when set)."""
        mark = self._stream_time(partition)
        if mark is None:
            return None
        return datetime.fromtimestamp(max(mark, self._clock_floor(now)), UTC)

    def _kpi_state(self, key: _Touched, *, owned: bool = False) -> Decoded:
        """The stored KPI state of ``key``, the offset of the last event it counted and the
        fingerprints of its last event ids; ``owned``: for the caller to change."""
        raw = self._state.get(kpi_key(key.partition, key.account_id, key.contact_point))
        if raw is None:
            state = ContactPointState(contact_point=key.contact_point, config=self._kpis)
            return Decoded(state, -1, [])
        kept = self._decoded.take(key, raw) if owned else self._decoded.peek(key, raw)
        if kept is not None:
            return kept
        counted, recent, encoded = decode_counted(raw)
        return Decoded(ContactPointState.from_bytes(encoded, config=self._kpis), counted, recent)

    def _windows(
        self, state: ContactPointState, contact_point: ContactPoint, as_of: datetime
    ) -> Windows:
        """Every window's KPIs ending at the stream time ``as_of``, with the experience score."""
        windows: dict[str, dict[str, float | None]] = {}
        for window, values in state.snapshots(as_of=as_of).items():
            scored: dict[str, float | None] = dict(values)
            scored[EXPERIENCE_SCORE] = score_contact_point(contact_point, values, self._kpis.score)
            windows[window] = scored
        return windows

    def _collect_alert_states(self, outcome: BatchOutcome) -> None:
        for account_id, bundle in self._book.drain_changes().items():
            partition = self._partition_of[account_id]
            value = compact_json(bundle) if bundle else None
            outcome.state_writes[partition][alerts_key(partition, account_id)] = value

    # --- incident chains (streams.alerting.chains) ------------------------------------------
    def _evaluate_chains(
        self,
        outcome: BatchOutcome,
        now: datetime,
        fresh: Fresh | None = None,
        seen: Sequence[float] = (),
    ) -> None:
        """Chain alerts of the fresh events and of the chains due now, and their state writes."""
        if not self._chains.enabled:
            return
        at = now.timestamp()

        def clock(partition: int) -> float:
            moment = self.stream_now(partition, now)
            return at if moment is None else moment.timestamp()

        outcome.alerts += self._chains.evaluate(now=now, clock=clock, fresh=fresh, seen=seen)
        for (partition, account_id, order_id), data in self._chains.drain_changes().items():
            value = compact_json(data) if data is not None else None
            outcome.state_writes[partition][chain_key(partition, account_id, order_id)] = value

    def _record_kpi_marks(self, outcome: BatchOutcome, tops: Mapping[int, int]) -> None:
        """After a KPI flush: record the marks of the flush before (its updates were sent, the
        caller sends batch after batch) and remember this flush's marks for the next one.

        A flush's marks are the offset watermarks of the batch it started in: every key
        counted up to there is in it (keys touched while it runs are in the next one).
        """
        partitions = {*self._partition_of.values(), *tops, *self._kpi_marks} - self._held
        marks = {p: max(tops.get(p, -1), watermark(self._state, p)) for p in partitions}
        if self._cycle_started:
            self._cycle_started = False
            self._cycle_marks = marks
        if not self._flushed:
            return
        self._flushed = False
        for partition in partitions:
            mark = self._kpi_marks.get(partition)
            if mark is not None and self._recorded_marks.get(partition) != mark:
                outcome.state_writes[partition][kpi_mark_key(partition)] = str(mark).encode()
                self._recorded_marks[partition] = mark
        started = self._cycle_marks if self._cycle_marks is not None else marks
        self._cycle_marks = None
        self._kpi_marks.update({p: m for p, m in started.items() if p in partitions})

    def windows_as_of(
        self, partition: int, account_id: str, contact_point: str, as_of: datetime
    ) -> Windows:
        """The KPI windows of one key (or ``overall``) from the stored state, ending at
        ``as_of``: the ground truth of an update with that ``as_of``."""
        computed: dict[_Touched, _Computed] = {}
        points = list(ContactPoint) if contact_point == OVERALL else [ContactPoint(contact_point)]
        for point in points:
            key = _Touched(partition, account_id, point)
            state, counted, _ = self._kpi_state(key)
            if state.hwm is not None:
                computed[key] = _Computed(as_of, self._windows(state, point, as_of), counted)
        if contact_point != OVERALL:
            return next(iter(computed.values())).windows if computed else {}
        return self._account_health(partition, account_id, as_of, computed).windows

    def _sequence_alerts(self, outcome: BatchOutcome) -> None:
        """Number each alert in its partition's sequence and keep it in the partition's outbox.

        The outbox is part of the batch's state, written (and made durable by the caller)
        before the alerts are sent; the next batch or tick empties it again.
        """
        for alert in outcome.alerts:
            partition = self._partition_of[alert.account_id]
            seq = self._sequences[partition] = self._sequence(partition) + 1
            outcome.alert_records.append(
                (alert.account_id, _alert_origin(partition, seq), alert.model_dump_json().encode())
            )
        alerted = {self._partition_of[alert.account_id] for alert in outcome.alerts}
        self._fill_outboxes(outcome, self._outbox_full | alerted)

    def _fill_outboxes(self, outcome: BatchOutcome, partitions: Iterable[int]) -> None:
        """Write the outbox of each of ``partitions``: every alert record of ``outcome``."""
        boxes: dict[int, list[tuple[int, str, str]]] = {p: [] for p in partitions}
        for account_id, origin, value in outcome.alert_records:
            boxes[self._partition_of[account_id]].append(
                (origin.version[0], account_id, value.decode())
            )
        for partition, alerts in boxes.items():
            outcome.state_writes[partition][outbox_key(partition)] = compact_json(
                {"seq": self._sequence(partition), "alerts": alerts}
            )
        self._outbox_full = {partition for partition, alerts in boxes.items() if alerts}

    def combined(self, outcomes: Iterable[BatchOutcome]) -> BatchOutcome:
        """One outcome of a batch processed in slices (``outcomes`` in their order): its state
        writes ordered as :meth:`process` orders one slice's, each key once.

        A slice's outbox holds only that slice's alerts, but every alert of the batch is sent
        after its one state write: the batch's outbox holds them all, so that a crash in
        between finds each one for the next owner to send again."""
        outcome = BatchOutcome()
        for part in outcomes:
            outcome.extend(part)
        written = {p for p, writes in outcome.state_writes.items() if outbox_key(p) in writes}
        self._fill_outboxes(outcome, written)
        _decisions_first(outcome)
        return outcome

    def _sequence(self, partition: int) -> int:
        if partition not in self._sequences:
            self._sequences[partition] = self._outbox(partition)["seq"]
        return self._sequences[partition]

    def _outbox(self, partition: int) -> dict[str, Any]:
        """The stored outbox of ``partition``: ``{"seq": last number, "alerts": [...]}``."""
        raw = self._state.get(outbox_key(partition))
        return orjson.loads(raw) if raw is not None else {"seq": 0, "alerts": []}

    @property
    def flushing(self) -> bool:
        """Whether a KPI flush is under way, with keys left for the next batch or tick."""
        return bool(self._cycle)

    def _due_kpis(
        self,
        now: datetime,
        touched: Mapping[_Touched, _Rolled],
        *,
        batch: bool,
    ) -> tuple[list[KpiUpdate], list[KpiSnapshot]]:
        """Every ``kpi_interval`` s, for each key touched since the last time: its KPI update,
        its account's health, and the snapshots the KPI alert rules need (computed once).

        A flush of many keys is spread over batches and ticks, ``kpi_flush_keys`` keys at a
        time, so it never stalls the event loop for long (batches leave it to the ticks while
        :attr:`flush_in_ticks`). Event-level alerts do not wait for this; KPI rules judge
        trends, not single events.
        """
        self._kpi_pending.update(touched)
        if batch and self.flush_in_ticks and self._cycle:
            return [], []
        if not self._cycle and not self._start_kpi_flush(now):
            return [], []
        return self._flush_kpi_slice(now, touched)

    def _start_kpi_flush(self, now: datetime) -> bool:
        """Take the keys due now into a new flush (``False``: none is due yet)."""
        clock = time.monotonic()
        if clock < self._next_kpi_flush:
            return False
        self._kpi_pending |= self._expired(now)
        self._held = self._held_partitions({k.partition for k in self._kpi_pending}, now)
        judged = {k for k in self._kpi_pending if k.partition not in self._held}
        due = judged | {k for k in self._kpi_resend if k.partition not in self._held}
        if not due:  # nothing to send; record the marks of the last flush if not done yet
            self._flushed = self._flushed or self._kpi_marks != self._recorded_marks
            return False
        self._next_kpi_flush = clock + self._kpi_interval
        self._cycle = sorted(due, key=lambda k: (k.account_id, k.contact_point), reverse=True)
        self._cycle_judged = judged
        self._cycle_started = True
        self._kpi_pending -= due  # touched again meanwhile: pending for the next flush
        self._kpi_resend -= due
        return True

    def _flush_kpi_slice(
        self, now: datetime, touched: Mapping[_Touched, _Rolled]
    ) -> tuple[list[KpiUpdate], list[KpiSnapshot]]:
        """The next keys of the flush under way (an account's keys stay together)."""
        updates: list[KpiUpdate] = []
        snapshots: list[KpiSnapshot] = []
        computed: dict[_Touched, _Computed] = {}
        taken = 0
        spent = _Budget(self._flush_keys, self._flush_seconds, self._clock)
        while self._cycle:
            key = self._cycle.pop()
            taken += 1
            flushed = self._flush_key(key, now, touched)
            if flushed is not None:
                computed[key], update, judged = flushed
                updates.append(update)
                snapshots += judged
            if spent(taken) and (not self._cycle or self._cycle[-1].account_id != key.account_id):
                break
        for partition, account_id in sorted({(k.partition, k.account_id) for k in computed}):
            updates.append(self._account_health(partition, account_id, now, computed))
        if not self._cycle:
            self._flushed = True  # complete: its marks are recorded at the end of the batch
            self._cycle_judged = set()
        return updates, snapshots

    def _flush_key(
        self, key: _Touched, now: datetime, touched: Mapping[_Touched, _Rolled]
    ) -> tuple[_Computed, KpiUpdate, list[KpiSnapshot]] | None:
        """One key's windows, its KPI update and, when KPI rules judge it, its snapshots
        (``None``: nothing counted yet, e.g. only events from too far ahead)."""
        state, counted = touched.get(key) or self._stored(key)
        as_of = self.stream_now(key.partition, now)
        if state.hwm is None or as_of is None:
            return None
        # The account as it was at the stream time, whatever the order of its events.
        context = self._accounts.context(key.account_id, at=as_of)
        windows = self._windows(state, key.contact_point, as_of)
        self._remember(key, as_of, self._schedule(key, state, as_of), counted, windows)
        update = KpiUpdate(
            account_id=key.account_id,
            contact_point=key.contact_point,
            tier=context.tier,
            as_of=as_of,
            computed_at=now,
            windows=windows,
            window_bounds=self._bounds(as_of),
            counted_offset=counted,
        )
        judged = (
            not self._judge_step  # else KPI rules judge at steps of stream time
            and key in self._cycle_judged
            and self._alerting(key, context)
        )
        snapshots = _snapshots(key, context, windows, as_of) if judged else []
        return _Computed(as_of, windows, counted), update, snapshots

    def _alerting(self, key: _Touched, context: AccountContext) -> bool:
        """Whether KPI rules judge this key: its account's tier alerts, or it has alerts."""
        return context.tier in ALERTING_TIERS or self._book.tracks(key.account_id)

    def _held_partitions(self, partitions: set[int], now: datetime) -> set[int]:
        """Partitions whose KPI updates wait: their events moved the stream time less than
        ``kpi_stream_interval`` since their last flush and are still moving it (a backfill or
        replay); a partition whose events stopped moving it is always flushed.

        Judged on the latest event time, not on the stream time the clock moves on
        (``idle_advance``): the clock alone moves it every second, so a throttle on it would
        hold a finished backfill's last updates for a whole interval of wall time.
        """
        held: set[int] = set()
        for partition in partitions:
            moment = self._stream_time(partition)
            if moment is None:
                continue
            moving = self._pass_stream.get(partition) != moment
            self._pass_stream[partition] = moment
            last = self._flushed_stream.get(partition)
            if moving and last is not None and moment - last < self._kpi_stream_interval:
                held.add(partition)
            else:
                self._flushed_stream[partition] = moment
        return held

    def _schedule(self, key: _Touched, state: ContactPointState, as_of: datetime) -> int | None:
        """Remember when the key's windows next change by themselves (data leaving them), and
        return it (``None``: never, with no new event)."""
        when = state.next_change(as_of=int(as_of.timestamp()))
        if when is not None:
            heapq.heappush(self._expiries[key.partition], (when, key.account_id, key.contact_point))
        return when

    def _remember(
        self, key: _Touched, as_of: datetime, until: int | None, counted: int, windows: Windows
    ) -> None:
        if len(self._scored) >= SCORE_MEMO_KEYS and key not in self._scored:
            del self._scored[next(iter(self._scored))]
        scores = tuple(windows[window][EXPERIENCE_SCORE] for window in self._kpis.windows)
        self._scored[key] = _Scored(int(as_of.timestamp()), until, counted, scores)

    def _expired(self, now: datetime) -> set[_Touched]:
        """Keys whose windows changed since their last update because time passed."""
        expired: set[_Touched] = set()
        for partition, heap in self._expiries.items():
            as_of = self.stream_now(partition, now)
            if as_of is None:
                continue
            moment = int(as_of.timestamp())
            while heap and heap[0][0] <= moment:
                _, account_id, contact_point = heapq.heappop(heap)
                expired.add(_Touched(partition, account_id, contact_point))
        return expired

    def _stored(self, key: _Touched) -> _Rolled:
        state, counted, _ = self._kpi_state(key)
        return _Rolled(state, counted)

    def _bounds(self, as_of: datetime) -> dict[str, tuple[datetime, datetime]]:
        """Every window's ``[start, end)`` ending at ``as_of`` (the last answer is kept: the
        keys of a partition share their stream time)."""
        if self._last_bounds[0] != as_of:
            self._last_bounds = as_of, {
                window: (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
                for window, (start, end) in window_bounds(
                    self._kpis, as_of=int(as_of.timestamp())
                ).items()
            }
        return self._last_bounds[1]

    def _account_health(
        self,
        partition: int,
        account_id: str,
        now: datetime,
        computed: MutableMapping[_Touched, _Computed],
    ) -> KpiUpdate:
        """The account's experience score across its contact points, with the worst-of flag.

        A contact point not computed here takes its last scores when they still hold (no event
        since, no data left a window), else its stored state is computed again.
        """
        scores: dict[ContactPoint, tuple[float | None, ...]] = {}
        parts: list[tuple[datetime, int]] = []
        windows_order = list(self._kpis.windows)
        for contact_point in ContactPoint:
            key = _Touched(partition, account_id, contact_point)
            if key in computed:
                part = computed[key]
                scores[contact_point] = tuple(
                    part.windows[window][EXPERIENCE_SCORE] for window in windows_order
                )
                parts.append((part.as_of, part.counted))
                continue
            as_of = self.stream_now(partition, now)
            if as_of is None:
                continue
            memo = self._scored.get(key)
            if memo is None or not memo.hold_at(int(as_of.timestamp())):
                state, counted, _ = self._kpi_state(key)
                if state.hwm is None:
                    continue
                own = self._windows(state, contact_point, as_of)
                self._remember(key, as_of, state.next_change(as_of=int(as_of.timestamp())),
                               counted, own)  # fmt: skip
                memo = self._scored[key]
            scores[contact_point] = memo.scores
            parts.append((as_of, memo.counted))
        as_of = max(moment for moment, _ in parts)
        windows: Windows = {}
        for index, window in enumerate(windows_order):
            by_point = {cp: own_scores[index] for cp, own_scores in scores.items()}
            score, poor = combine_scores(by_point, self._kpis.score)
            windows[window] = {EXPERIENCE_SCORE: score, WORST_OF_POOR: float(bool(poor))}
        return KpiUpdate(
            account_id=account_id,
            contact_point=OVERALL,
            tier=self._accounts.context(account_id, at=as_of).tier,
            as_of=as_of,
            computed_at=now,
            windows=windows,
            window_bounds=self._bounds(as_of),
            counted_offset=max(counted for _, counted in parts),
        )


def _snapshots(
    key: _Touched, context: AccountContext, windows: Windows, as_of: datetime
) -> list[KpiSnapshot]:
    """What the KPI rules judge of one key: its values in each window, as of ``as_of``."""
    return [
        KpiSnapshot(
            account_id=key.account_id,
            account=context,
            contact_point=key.contact_point,
            window=window,
            values=values,
            as_of=as_of,
        )
        for window, values in windows.items()
    ]


_DECISIONS: Final = frozenset({"judged", "alerts", "chain", "outbox"})


class _Budget:
    """Whether a KPI flush slice has used its budget: ``keys`` keys or ``seconds`` of
    ``clock`` since it began, whichever comes first (0: that limit is off)."""

    def __init__(self, keys: int, seconds: float, clock: Callable[[], float]) -> None:
        self._keys = keys
        self._until = clock() + seconds if seconds else math.inf
        self._clock = clock

    def __call__(self, taken: int) -> bool:
        return bool(self._keys and taken >= self._keys) or self._clock() >= self._until


def _decisions_first(outcome: BatchOutcome) -> None:
    """Order each partition's state writes so the alert decisions (alert and chain states, the
    outbox of the alerts about to be sent, the judged steps) go before the KPI states and the
    offset watermark. A crash that lets only the first part of a batch's writes reach the changelog
    then finds its decisions (the outbox is sent again by the next owner) with the KPI states
    from before the batch, reads the batch again and, skipping the steps already judged, makes
    the same decisions; KPI states or the watermark stored before them would make the batch's
    events look counted, and its judgments and alerts be lost."""
    for partition, writes in outcome.state_writes.items():
        first = {k: v for k, v in writes.items() if parse_key(k)[1] in _DECISIONS}
        if first:
            outcome.state_writes[partition] = first | {
                k: v for k, v in writes.items() if k not in first
            }


def _alert_origin(partition: int, seq: int) -> Origin:
    return Origin(f"alerts/{partition}", (seq, 0))
