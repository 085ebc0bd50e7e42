"""Receivers: one file per kind behind the :class:`Receiver` protocol, built from the config."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from sinks.notify.config import ReceiverKind, RoutingConfig
from sinks.notify.receivers.alertmanager import AlertmanagerReceiver, alertmanager_alert
from sinks.notify.receivers.base import Receiver, check_status, post_json
from sinks.notify.receivers.pagerduty import PagerDutyReceiver, pagerduty_event
from sinks.notify.receivers.slack import SlackReceiver, slack_message
from sinks.notify.receivers.webhook import WebhookReceiver, webhook_body

RECEIVER_KINDS: dict[ReceiverKind, Callable[..., Receiver]] = {
    "alertmanager": AlertmanagerReceiver,
    "pagerduty": PagerDutyReceiver,
    "slack": SlackReceiver,
    "webhook": WebhookReceiver,
}


def build_receivers(
    config: RoutingConfig, *, session: aiohttp.ClientSession
) -> dict[str, Receiver]:
    """One receiver per configured name, sharing one HTTP session."""
    timeout = config.delivery.timeout.total_seconds()
    return {
        name: RECEIVER_KINDS[spec.kind](name=name, config=spec, session=session, timeout=timeout)
        for name, spec in config.receivers.items()
    }


__all__ = [
    "RECEIVER_KINDS",
    "AlertmanagerReceiver",
    "PagerDutyReceiver",
    "Receiver",
    "SlackReceiver",
    "WebhookReceiver",
    "alertmanager_alert",
    "build_receivers",
    "check_status",
    "pagerduty_event",
    "post_json",
    "slack_message",
    "webhook_body",
]
