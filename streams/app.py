"""The Faust application: thin agents around :class:`streams.pipeline.TouchpointProcessor`.

Topics carry raw bytes (``value_serializer="raw"``); decoding and validation happen in the pure
core, a batch at a time. Each batch's output is handed to the producer before the batch's
offsets are acknowledged, and Faust flushes the producer before it commits offsets, so every
output is written at least once.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.types import EventT
from pydantic import BaseModel, ValidationError

from kam.settings import KafkaSettings, TopicSettings, WorkerSettings
from schemas import Account, DeadLetter, FailureType
from streams import metrics
from streams.enrichment import AccountDirectory
from streams.pipeline import BatchOutcome, TouchpointProcessor
from streams.validation import SourceRecord, ValidationPolicy

log = logging.getLogger(__name__)


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
    return model.model_dump_json().encode()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(*, kafka: KafkaSettings, topics: TopicSettings, worker: WorkerSettings) -> faust.App:
    """Build the worker's Faust app with its topics, tables and agents."""
    app = faust.App(
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
        web_enabled=worker.web_port > 0,
        web_port=worker.web_port or 6066,
        web_host="127.0.0.1",
    )

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=topics.partitions,
        )

    touchpoints = raw_topic(topics.touchpoints)
    accounts_topic = raw_topic(topics.accounts)
    enriched = raw_topic(topics.enriched)
    deadletter = raw_topic(topics.deadletter)
    alerts = raw_topic(topics.alerts)

    accounts = app.Table("accounts", partitions=topics.partitions)
    processor = TouchpointProcessor(
        accounts=AccountDirectory(records=accounts),
        policy=ValidationPolicy(
            max_bytes=worker.max_event_bytes,
            max_clock_skew=timedelta(seconds=worker.max_clock_skew_seconds),
        ),
    )

    @app.agent(accounts_topic)
    async def apply_account_updates(stream: faust.StreamT[bytes]) -> None:
        """Keep the accounts table in step with the compacted accounts topic."""
        async for event in stream.events():
            key = event.key.decode() if event.key else None
            if event.value is None:  # tombstone: the account was removed
                if key is not None:
                    accounts.pop(key, None)
                metrics.ACCOUNT_UPDATES.labels("deleted").inc()
                continue
            try:
                account = Account.model_validate_json(event.value)
            except ValidationError as error:
                metrics.ACCOUNT_UPDATES.labels("invalid").inc()
                await deadletter.send(
                    key=event.key, value=_dumps(_account_dead_letter(event, error))
                )
                continue
            accounts[account.account_id] = account.model_dump(mode="json")
            metrics.ACCOUNT_UPDATES.labels("applied").inc()

    @app.agent(touchpoints)
    async def process_touchpoints(stream: faust.StreamT[bytes]) -> None:
        """Validate, enrich and check each batch; send what it produced."""
        async for events in stream.take_events(
            worker.batch_size, within=worker.batch_max_wait_seconds
        ):
            started = time.perf_counter()
            outcome = processor.process(_source_records(events), now=_utcnow())
            await _send_outcome(outcome)
            metrics.BATCH_SIZE.observe(len(events))
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _send_outcome(outcome: BatchOutcome) -> None:
        for letter in outcome.dead_letters:
            await deadletter.send(key=None, value=_dumps(letter))
            metrics.EVENTS_INVALID.labels(letter.failure_type.value).inc()
        for item in outcome.enriched:
            await enriched.send(key=item.event.account_id.encode(), value=_dumps(item))
            labels = (item.event.contact_point.value, item.account.tier.value)
            metrics.EVENTS_VALID.labels(*labels).inc()
            if item.bad_experience:
                metrics.BAD_EXPERIENCES.labels(*labels).inc()
        for alert in outcome.alerts:
            await alerts.send(key=alert.account_id.encode(), value=_dumps(alert))
            metrics.ALERTS_EMITTED.labels(
                alert.contact_point.value, alert.tier.value, alert.status.value
            ).inc()

    return app


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


def _account_dead_letter(event: EventT[Any], error: ValidationError) -> DeadLetter:
    first = error.errors(include_url=False)[0]
    return DeadLetter(
        failure_type=FailureType.SCHEMA_VIOLATION,
        detail=f"invalid account record: {first['msg']}",
        field_path=".".join(str(part) for part in first["loc"]) or None,
        source_topic=event.message.topic,
        source_partition=event.message.partition,
        source_offset=event.message.offset,
        original=event.value,
        received_at=_utcnow(),
    )
