"""Vendor webhooks (Zendesk, Stripe) verified and mapped onto the event catalogue."""

from producers.ingest.webhooks.base import AccountMap, Unmapped, Webhook, load_account_map
from producers.ingest.webhooks.stripe import StripeWebhook, map_stripe
from producers.ingest.webhooks.zendesk import ZendeskWebhook, map_zendesk

__all__ = [
    "AccountMap",
    "StripeWebhook",
    "Unmapped",
    "Webhook",
    "ZendeskWebhook",
    "load_account_map",
    "map_stripe",
    "map_zendesk",
]
