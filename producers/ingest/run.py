"""Wiring of ``kam ingest``: settings in, a running server out, everything closed after."""

from __future__ import annotations

import asyncio
import threading

from prometheus_client import start_http_server

from kam.settings import IngestSettings, KafkaSettings, MetricsSettings, TopicSettings
from producers.ingest.auth import TokenBook, load_tokens
from producers.ingest.exceptions import IngestConfigError
from producers.ingest.service import Ingest, serve
from producers.ingest.store import EventStore
from producers.ingest.webhooks import StripeWebhook, Webhook, ZendeskWebhook, load_account_map
from producers.publisher import PublisherOptions, TouchpointPublisher

ACK_GRACE_SECONDS = 2.0
"""How much longer than librdkafka's delivery timeout a request waits for its reports."""


def configured_tokens(settings: IngestSettings) -> TokenBook:
    """The token book; raises :class:`IngestConfigError` when it is unusable or empty."""
    inline = settings.tokens.get_secret_value() if settings.tokens else None
    book = load_tokens(inline=inline, path=settings.tokens_path)
    if not book.entries and not (settings.zendesk_secret or settings.stripe_secret):
        raise IngestConfigError(
            "no bearer token and no webhook secret is configured: set KAM_INGEST_TOKENS or "
            "KAM_INGEST_TOKENS_PATH (`kam ingest-token SOURCE` makes one), "
            "KAM_INGEST_ZENDESK_SECRET or KAM_INGEST_STRIPE_SECRET"
        )
    return book


def configured_webhooks(settings: IngestSettings) -> dict[str, Webhook]:
    accounts = load_account_map(settings.account_map_path)
    tolerance = settings.webhook_tolerance_seconds
    webhooks: list[Webhook] = []
    if settings.zendesk_secret:
        secret = settings.zendesk_secret.get_secret_value()
        webhooks.append(ZendeskWebhook(secret=secret, accounts=accounts, tolerance=tolerance))
    if settings.stripe_secret:
        secret = settings.stripe_secret.get_secret_value()
        webhooks.append(StripeWebhook(secret=secret, accounts=accounts, tolerance=tolerance))
    return {webhook.name: webhook for webhook in webhooks}


def publisher_options(settings: IngestSettings) -> PublisherOptions:
    """The SDK's idempotent producer, failing fast instead of blocking the event loop."""
    return PublisherOptions(
        client_id="kam-ingest",
        delivery_timeout_ms=int(settings.delivery_timeout_seconds * 1000),
        queue_full_timeout=0.0,
        keep_failures=False,
    )


def run_ingest(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    settings: IngestSettings,
    metrics: MetricsSettings,
    stop: threading.Event,
) -> None:
    """Serve until ``stop`` is set; then answer what is in flight, flush and close."""
    tokens = configured_tokens(settings)
    webhooks = configured_webhooks(settings)
    if metrics.port:
        start_http_server(metrics.port, addr=metrics.host)
    with TouchpointPublisher(
        kafka=kafka, topics=topics, options=publisher_options(settings)
    ) as publisher:
        wait = settings.delivery_timeout_seconds + ACK_GRACE_SECONDS
        ingest = Ingest(
            settings=settings,
            tokens=tokens,
            store=EventStore(publisher, wait_seconds=wait),
            webhooks=webhooks,
        )
        asyncio.run(serve(ingest, stop))
