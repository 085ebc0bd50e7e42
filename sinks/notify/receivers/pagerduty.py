"""PagerDuty Events API v2: one trigger or resolve event per alert, ``dedup_key`` from its key.

PagerDuty answers 202 when accepted, 400 when invalid (not retried) and 429 when rate-limited
(retried with backoff).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from schemas.alerts import Alert, AlertStatus, Severity
from sinks.notify.config import PagerDutyReceiver as PagerDutyConfig
from sinks.notify.dedup import bounded_key
from sinks.notify.grouping import Batch
from sinks.notify.receivers.base import HttpReceiver, post_json
from sinks.notify.render import Message, RenderedAlert, account_label

MAX_SUMMARY = 1024
_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}


def pagerduty_event(alert: Alert, rendered: RenderedAlert, *, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for one alert state."""
    dedup_key = bounded_key(alert.alert_key)
    if alert.status is AlertStatus.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}
    details = {
        "account_id": alert.account_id,
        "account_name": alert.account_name,
        "tier": alert.tier.value,
        "kam_owner": alert.kam_owner,
        "kam_team": alert.kam_team,
        "what_happened": rendered.description,
        "evidence": rendered.evidence,
        "event_ids": alert.event_ids,
        "since": alert.started_at.isoformat(),
        "account_url": rendered.account_url,
    }
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": rendered.title[:MAX_SUMMARY],
            "source": account_label(alert),
            "severity": _SEVERITY[alert.severity],
            "timestamp": alert.updated_at.isoformat(),
            "component": alert.contact_point.value,
            "class": alert.rule,
            "custom_details": {key: value for key, value in details.items() if value},
        },
    }
    if alert.kam_team:
        event["payload"]["group"] = alert.kam_team
    links = [
        {"href": href, "text": text}
        for href, text in (
            (rendered.account_url, "Account page"), (rendered.runbook_url, "Runbook")
        )
        if href
    ]
    if links:
        event["links"] = links
    return event


class PagerDutyReceiver(HttpReceiver[PagerDutyConfig]):
    """Sends the alerts of a batch one event each (PagerDuty groups by ``dedup_key``)."""

    kind: Literal["pagerduty"] = "pagerduty"

    async def send(self, batch: Batch, message: Message) -> None:
        routing_key = self._config.routing_key.get_secret_value()
        for alert, rendered in zip(batch.alerts, message.alerts, strict=True):
            body = orjson.dumps(pagerduty_event(alert, rendered, routing_key=routing_key))
            await post_json(
                self._session,
                receiver=self.name,
                url=self._config.url.get_secret_value(),
                body=body,
                timeout=self._timeout,
            )
