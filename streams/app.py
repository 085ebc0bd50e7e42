"""The Faust application: thin agents around :class:`streams.pipeline.TouchpointProcessor`.

Topics carry raw bytes; decoding and validation happen in the pure core, a batch at a time.
Per batch the worker (1) writes the batch's state, offset watermark and alert outbox included,
and waits until the changelog has it, (2) sends every output, each with its origin
(:mod:`schemas.origins`), and waits until the broker has them, then (3) lets Faust acknowledge
the batch. A crash before (1) completes sent nothing; a crash after it replays events the
state already counts: they are sent again, with the same origins, and the alerts of the
outbox are sent again by the partition's next owner. Consumers drop what they already stored
by origin, so every output is stored once (see :mod:`streams.state`).

A large batch is processed ``KAM_WORKER_BATCH_SLICE_EVENTS`` events at a time with the event
loop served between slices (:func:`_process_in_slices`), and the objects alive once the state
is recovered are frozen out of the garbage collector's reach (:func:`_freeze_heap`): no loop
turn of the worker then runs for much longer than a slice (docs/benchmarks.md, the stalls).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import socket
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from confluent_kafka.admin import NewTopic
from faust.types import TP, EventT, TableT
from pydantic import BaseModel, ValidationError

from kam.kafka_admin import COMPACTED
from kam.settings import KafkaSettings, TopicSettings, WorkerSettings
from schemas import Account, DeadLetter, FailureType, KpiUpdate
from schemas.origins import Origin, source_of, source_origin
from streams import metrics, transport
from streams.alerting import AlertRulesConfig
from streams.enrichment import AccountDirectory, add_version
from streams.kpis import KpiConfig
from streams.loop_lag import probe_loop_lag
from streams.outputs import OutputProducer, OutputRecord, Refused
from streams.pipeline import AlertRecord, BatchOutcome, TouchpointProcessor
from streams.tables import BatchTable, batch_table
from streams.validation import SourceRecord, ValidationPolicy

log = logging.getLogger(__name__)
EXIT_UNACKNOWLEDGED = 75  # EX_TEMPFAIL: restart me
YIELD_SECONDS = 1e-6
"""How long a batch processed in slices sleeps between two (uvloop rounds it to 0 ms)."""
RAW_VALUES: dict[str, Any] = {"key_type": str, "value_type": bytes}
"""Tables keyed by text (JSON) with raw bytes values (Faust picks the codecs from the types):
the pure core decodes only what a batch touches."""


def broker_credentials(kafka: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """Faust credentials equivalent to the librdkafka settings of :class:`KafkaSettings`."""
    context: ssl.SSLContext | None = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile:
            context.load_cert_chain(
                str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
            )
    if kafka.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    return faust.SSLCredentials(context) if context else None


def _dumps(model: BaseModel) -> bytes:
    """``model.model_dump_json().encode()``, without decoding pydantic's bytes to a str and
    encoding them back (the same serializer, the same defaults, the same bytes)."""
    return model.__pydantic_serializer__.to_json(model)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def group_instance_id(worker: WorkerSettings) -> str:
    """The worker's static consumer group membership id (KIP-345): host name and data directory.

    A worker restarted after a crash rejoins under the same id and takes its partitions back at
    once, instead of waiting for the group to expire the dead member (the session timeout).
    One live worker per data directory (:func:`streams.worker.run_worker` locks it) keeps the
    id unique.
    """
    directory = hashlib.sha256(str(worker.data_dir.resolve()).encode()).hexdigest()[:12]
    return f"{socket.gethostname()}-{directory}"


def faust_app(*, kafka: KafkaSettings, topics: TopicSettings, worker: WorkerSettings) -> faust.App:
    """The worker's Faust app and settings, with no agent yet (also the benchmarks' baseline)."""
    return transport.App(
        worker.app_id,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(kafka),
        store="memory://",
        datadir=str(worker.data_dir),
        topic_partitions=topics.partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=worker.session_timeout_seconds,
        broker_commit_interval=worker.commit_interval_seconds,
        consumer_group_instance_id=group_instance_id(worker),
        web_enabled=worker.web_port > 0,
        web_port=worker.web_port or 6066,
        web_host="127.0.0.1",
    )


def internal_topics(app: faust.App, partitions: int) -> list[NewTopic]:
    """Faust's own topics of ``app`` (its tables' changelogs, the leader topic).

    Created before the worker starts: a static member that rejoins keeps the assignment
    computed when the group formed, so a changelog missing from the metadata then (Faust
    creating it a moment before subscribing) would never be assigned, and a restarted worker
    would not recover that table's state.
    """
    changelogs = [
        NewTopic(table.changelog_topic.get_topic_name(), num_partitions=partitions,
                 replication_factor=1, config=COMPACTED)
        for table in app.tables.values()
    ]  # fmt: skip
    leader = NewTopic(f"{app.conf.id}-__assignor-__leader", num_partitions=1, replication_factor=1)
    return [*changelogs, leader]


def raw_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def create_app(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    worker: WorkerSettings,
    kpis: KpiConfig,
    alert_rules: AlertRulesConfig,
) -> faust.App:
    """Build the worker's Faust app with its topics, tables, agents and timer."""
    app = faust_app(kafka=kafka, topics=topics, worker=worker)
    touchpoints = raw_topic(app, topics.touchpoints, topics.partitions)
    accounts_topic = raw_topic(app, topics.accounts, topics.partitions)
    output = OutputProducer(kafka=kafka)
    accounts = app.Table("accounts", partitions=topics.partitions, **RAW_VALUES)
    state = batch_table(app, "state", partitions=topics.partitions, **RAW_VALUES)
    processor = TouchpointProcessor(
        accounts=AccountDirectory(records=accounts),
        state=state,
        policy=ValidationPolicy(
            max_bytes=worker.max_event_bytes,
            max_clock_skew=timedelta(seconds=worker.max_clock_skew_seconds),
        ),
        kpis=kpis,
        alert_rules=alert_rules,
        kpi_interval=worker.kpi_interval_seconds,
        idle_advance=worker.idle_advance_seconds,
        kpi_stream_interval=worker.kpi_stream_interval_seconds,
        kpi_flush_keys=worker.kpi_flush_keys,
        kpi_judge_step=worker.kpi_judge_seconds,
        kpi_state_cache=worker.kpi_state_cache_keys,
        kpi_flush_seconds=worker.kpi_flush_seconds,
    )
    exclusive = asyncio.Lock()  # a batch and the timer never interleave

    @app.agent(accounts_topic)
    async def apply_account_updates(stream: faust.StreamT[bytes]) -> None:
        """Keep the accounts table (a short history per account) in step with its topic."""
        async for event in stream.events():
            letter = _apply_account(accounts, event)
            if letter is not None:
                await _send(output, topics, [_dead_letter_record(topics, letter)])

    @app.agent(touchpoints)
    async def process_touchpoints(stream: faust.StreamT[bytes]) -> None:
        """Validate, enrich, roll KPIs and alert, a batch at a time."""
        async for events in stream.take_events(  # type: ignore[attr-defined]  # on Stream, not StreamT
            worker.batch_size, within=worker.batch_max_wait_seconds
        ):
            started = time.perf_counter()
            await _to_the_end(_handle(events))
            metrics.BATCH_SIZE.observe(len(events))
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _handle(events: Sequence[EventT[Any]]) -> None:
        async with exclusive:
            outcome, records = await _process_in_slices(
                processor, state, topics, events, worker.batch_slice_events
            )
            await _write(output, state, topics, outcome, records)

    @app.timer(worker.tick_seconds)  # type: ignore[untyped-decorator]  # faust's timer() returns a bare Callable
    async def tick() -> None:
        """Repeats, quiet-period resolves and throttled KPI updates when no event comes."""
        await _to_the_end(_tick())

    async def _tick() -> None:
        await _tick_through_the_flush(processor, exclusive, _emit, rest=worker.kpi_flush_rest)

    @app.task  # type: ignore[untyped-decorator]  # faust's task() returns a bare Callable
    async def probe_event_loop() -> None:
        """How late the loop wakes up: the stall every event waits out (see loop_lag)."""
        await probe_loop_lag(worker.loop_probe_seconds, metrics.observe_loop_lag)

    @state.on_recover
    async def take_over_alerts() -> None:
        owned = {
            tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.touchpoints
        }
        log.info("loaded the alert states of %d accounts", processor.load(owned))
        _freeze_heap(worker)
        outbox = processor.outbox(owned)
        await _send(output, topics, [_alert_record(topics, alert) for alert in outbox])
        log.info("sent the %d alerts of the outboxes again", len(outbox))

    # mode types every handler as (sender, *args, signal=..., **kwargs); these signals send one
    # positional argument (the set of partitions), which the handlers name and type
    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode wants (sender, *args, signal=)
    async def drop_revoked(sender: faust.App, revoked: set[TP], **_: Any) -> None:
        processor.forget(tp.partition for tp in revoked if tp.topic == topics.touchpoints)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode wants (sender, *args, signal=)
    async def count_assigned(sender: faust.App, assigned: set[TP], **_: Any) -> None:
        metrics.ASSIGNED_PARTITIONS.set(sum(tp.topic == topics.touchpoints for tp in assigned))

    async def _emit(outcome: BatchOutcome) -> None:
        state.stage(outcome.state_writes)
        await _write(output, state, topics, outcome, _records(topics, outcome))

    return app


async def _tick_through_the_flush(
    processor: TouchpointProcessor,
    exclusive: asyncio.Lock,
    emit: Callable[[BatchOutcome], Awaitable[None]],
    *,
    rest: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """One timer tick, then the rest of a long KPI flush a slice at a time, with the batches
    that come meanwhile in between.

    After each slice the flush rests ``rest`` times as long as the slice held the worker
    (computing it, then writing its state and updates): back to back, the slices would take
    most of the event loop, Faust's consumer would hand the batches only a few events each,
    and the input would queue up for the whole flush. The batches of the rests leave the flush
    to this loop (``flush_in_ticks``): each of them waits for one slice at most."""
    try:
        while True:
            began = clock()
            async with exclusive:
                await emit(processor.tick(now=_utcnow()))
            if not processor.flushing:
                return
            processor.flush_in_ticks = True  # batches meanwhile only count their events
            await sleep((clock() - began) * rest)
    finally:
        processor.flush_in_ticks = False


async def _write(
    output: OutputProducer,
    state: BatchTable,
    topics: TopicSettings,
    outcome: BatchOutcome,
    records: list[OutputRecord],
) -> None:
    """Make the state of ``outcome`` (staged in ``state``) durable, then send its records."""
    changelog = state.changelog(outcome.state_writes)
    await _patiently(output.write_changelog(changelog), "the state changelog")
    await _send(output, topics, records)  # after the state is durable
    _count(outcome)


async def _process_in_slices(
    processor: TouchpointProcessor,
    state: BatchTable,
    topics: TopicSettings,
    events: Sequence[EventT[Any]],
    size: int,
) -> tuple[BatchOutcome, list[OutputRecord]]:
    """A batch's outcome and output records, processed ``size`` events at a time with the
    event loop served in between, so a large batch stalls the loop no longer than a slice.

    Each slice's state is staged in the table for the next slice to read; the caller makes the
    combined state durable (one changelog record per key, in the order one batch would write
    them) before it sends any of the records, as for a batch processed at once."""
    slices: list[tuple[BatchOutcome, list[OutputRecord]]] = []
    for part in _slices(events, size):
        if slices:
            await _serve_the_loop()
        piece = processor.process(_source_records(part), now=_utcnow())
        state.stage(piece.state_writes)
        slices.append((piece, _records(topics, piece)))
    outcome = slices[0][0] if len(slices) == 1 else processor.combined(piece for piece, _ in slices)
    return outcome, [record for _, records in slices for record in records]


async def _serve_the_loop() -> None:
    """Let the callbacks that are ready or due run before this task goes on.

    ``sleep(0)`` is not enough: it puts this task back in the ready queue at once, ahead of
    the wake-ups of the timers (the loop-lag probe, Faust's timers) and I/O the loop finds
    due on its next turn, so the next slice would run before them. As a timer of its own,
    due at once, this task wakes up after every timer that came due before it, in both
    asyncio's loop and uvloop."""
    await asyncio.sleep(YIELD_SECONDS)


def _freeze_heap(worker: WorkerSettings) -> None:
    """With ``KAM_WORKER_GC_FREEZE``: collect, then move every object still alive (the code,
    the recovered state) to the collector's permanent generation, which no full collection
    walks again: those otherwise pause the event loop for tens to hundreds of ms each time
    the heap has grown by a quarter. ``KAM_WORKER_GC_YOUNG_THRESHOLD`` lets a batch's objects
    die young instead of reaching the oldest generation, whose growth starts a full one."""
    if worker.gc_young_threshold:
        gc.set_threshold(worker.gc_young_threshold, *gc.get_threshold()[1:])
    if worker.gc_freeze:
        gc.collect()
        gc.freeze()
        log.info("%d objects moved out of the garbage collector's reach", gc.get_freeze_count())


async def _patiently(work: Coroutine[Any, Any, None], what: str, every: float = 5.0) -> None:
    """Await ``work``, saying every ``every`` seconds that it is still waited for."""
    task = asyncio.ensure_future(work)
    waited = 0.0
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return task.result()
        waited += every
        log.warning("still waiting for %s after %.0f s", what, waited)


async def _send(output: OutputProducer, topics: TopicSettings, records: list[OutputRecord]) -> None:
    """Send; what the broker refuses for good is dead-lettered (a dead letter always fits)."""
    refused = await output.send(records)
    while refused:
        metrics.OUTPUTS_REFUSED.inc(len(refused))
        for item in refused:
            log.error("the broker refused %s (%s): dead-lettered", item.record.origin, item.reason)
        refused = await output.send([_refused_record(topics, item) for item in refused])


async def _to_the_end(work: Coroutine[Any, Any, None]) -> None:
    """Run one batch to its end before Faust acknowledges it, whatever happens meanwhile.

    ``take_events`` acknowledges a batch when the loop body exits, even by cancellation or by
    an error, so a batch must never exit half done: a shutdown waits for the batch, and an
    error the core did not absorb (the broker refusing outputs) ends the process without
    acknowledging anything, so the batch is consumed again after the restart.
    """
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
    except Exception:
        log.critical(
            "a batch failed; exiting unacknowledged so it is consumed again", exc_info=True
        )
        os._exit(EXIT_UNACKNOWLEDGED)


def _records(topics: TopicSettings, outcome: BatchOutcome) -> list[OutputRecord]:
    """Everything a batch produced, keyed by account (dead letters: by source partition)."""
    enriched = [
        OutputRecord(
            topics.enriched,
            item.event.account_id.encode(),
            _dumps(item),
            source_origin("enriched", topic, partition, offset),
        )
        for (topic, partition, offset), item in zip(
            outcome.enriched_sources, outcome.enriched, strict=True
        )
    ]
    return [
        *[_dead_letter_record(topics, letter) for letter in outcome.dead_letters],
        *enriched,
        *[_alert_record(topics, alert) for alert in outcome.alert_records],
        *[_kpi_record(topics, update) for update in outcome.kpi_updates],
    ]


def _dead_letter_record(topics: TopicSettings, letter: DeadLetter) -> OutputRecord:
    """Keyed by its source partition, so all copies of one letter share a partition."""
    where = (letter.source_topic, letter.source_partition)
    return OutputRecord(
        topics.deadletter,
        "{}:{}".format(*where).encode(),
        _dumps(letter),
        source_origin("deadletter", *where, letter.source_offset),
    )


def _alert_record(topics: TopicSettings, alert: AlertRecord) -> OutputRecord:
    account_id, origin, value = alert
    return OutputRecord(topics.alerts, account_id.encode(), value, origin)


def _kpi_record(topics: TopicSettings, update: KpiUpdate) -> OutputRecord:
    version = (int(update.as_of.timestamp() * 1000), update.counted_offset or 0)
    origin = Origin(f"kpis/{update.contact_point}/{update.account_id}", version)
    return OutputRecord(topics.kpis, update.account_id.encode(), _dumps(update), origin)


def _refused_record(topics: TopicSettings, refused: Refused) -> OutputRecord:
    """The dead letter of an output the broker refused: the output's start, size and hash."""
    record = refused.record
    source_topic, source_partition, source_offset = source_of(record.origin) or (
        record.topic,
        -1,
        -1,
    )
    letter = DeadLetter.keeping(
        record.value,
        failure_type=FailureType.OUTPUT_REFUSED,
        detail=(
            f"{record.topic} refused the output {record.origin.encode().decode()} "
            f"({len(record.value)} bytes): {refused.reason}"
        )[:2000],
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        received_at=_utcnow(),
    )
    origin = Origin(f"refused/{record.origin.stream}", record.origin.version)
    return OutputRecord(topics.deadletter, record.key, _dumps(letter), origin)


def _count(outcome: BatchOutcome) -> None:
    """Metrics of one batch: counted per label set first, one increment per label set."""
    valid = Counter((i.event.contact_point.value, i.account.tier.value) for i in outcome.enriched)
    bad = Counter(
        (i.event.contact_point.value, i.account.tier.value)
        for i in outcome.enriched
        if i.bad_experience
    )
    invalid = Counter((letter.failure_type.value,) for letter in outcome.dead_letters)
    alerts = Counter((a.contact_point.value, a.tier.value, a.status.value) for a in outcome.alerts)
    for counter, counts in (
        (metrics.EVENTS_VALID, valid),
        (metrics.BAD_EXPERIENCES, bad),
        (metrics.EVENTS_INVALID, invalid),
        (metrics.ALERTS_EMITTED, alerts),
    ):
        for labels, count in counts.items():
            counter.labels(*labels).inc(count)
    metrics.KPI_UPDATES.inc(len(outcome.kpi_updates))
    metrics.EVENTS_REPLAYED.inc(outcome.replayed)
    metrics.EVENTS_TOO_LATE.inc(outcome.too_late)
    metrics.EVENTS_DUPLICATE.inc(outcome.duplicates)


def _slices(events: Sequence[EventT[Any]], size: int) -> list[Sequence[EventT[Any]]]:
    """``events`` in consecutive slices of at most ``size`` (0: one slice)."""
    if not size or len(events) <= size:
        return [events]
    return [events[start : start + size] for start in range(0, len(events), size)]


def _source_records(events: Sequence[EventT[Any]]) -> list[SourceRecord]:
    metrics.EVENTS_CONSUMED.inc(len(events))
    return [
        SourceRecord(
            value=event.value,
            topic=event.message.topic,
            partition=event.message.partition,
            offset=event.message.offset,
        )
        for event in events
    ]


def _apply_account(accounts: TableT[str, bytes], event: EventT[Any]) -> DeadLetter | None:
    """Apply one record of the accounts topic; a record that is no account is returned as a
    dead letter."""
    if event.value is None:  # tombstone: the account was removed
        if event.key:
            accounts.pop(event.key.decode(), None)
        metrics.ACCOUNT_UPDATES.labels("deleted").inc()
        return None
    try:
        account = Account.model_validate_json(event.value)
    except ValidationError as error:
        metrics.ACCOUNT_UPDATES.labels("invalid").inc()
        return _account_dead_letter(event, error)
    # interned: the worker's other maps by account id share this string instead of a copy each
    account_id = sys.intern(account.account_id)
    accounts[account_id] = add_version(accounts.get(account_id), account)
    metrics.ACCOUNT_UPDATES.labels("applied").inc()
    return None


def _account_dead_letter(event: EventT[Any], error: ValidationError) -> DeadLetter:
    first = error.errors(include_url=False)[0]
    return DeadLetter.keeping(
        event.value,
        failure_type=FailureType.SCHEMA_VIOLATION,
        detail=f"invalid account record: {first['msg']}",
        field_path=".".join(str(part) for part in first["loc"]) or None,
        source_topic=event.message.topic,
        source_partition=event.message.partition,
        source_offset=event.message.offset,
        received_at=_utcnow(),
    )
