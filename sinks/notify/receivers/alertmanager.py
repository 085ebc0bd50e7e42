"""Prometheus Alertmanager API v2: ``POST /api/v2/alerts`` with labels, annotations, times.

A resolved alert is posted with ``endsAt`` = its resolution time, but never later than now:
Alertmanager keeps an earlier explicit ``endsAt`` when the new one is still in the future, so a
resolve must end in the past. A firing alert gets ``endsAt`` = update time + ``firing_ttl``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from schemas.alerts import Alert, AlertStatus
from sinks.notify.config import AlertmanagerReceiver as AlertmanagerConfig
from sinks.notify.grouping import Batch
from sinks.notify.receivers.base import HttpReceiver, post_json
from sinks.notify.render import Message, RenderedAlert

ALERTS_PATH = "/api/v2/alerts"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def alertmanager_alert(
    alert: Alert, rendered: RenderedAlert, *, firing_ttl: timedelta, now: datetime
) -> dict[str, Any]:
    """One postable alert of the Alertmanager v2 API."""
    labels = {
        "alertname": alert.rule,
        "alert_key": alert.alert_key,
        "account_id": alert.account_id,
        "tier": alert.tier.value,
        "contact_point": alert.contact_point.value,
        "severity": alert.severity.value,
        "kam_owner": alert.kam_owner,
        "kam_team": alert.kam_team,
        "source": "kam-pulse",
    }
    annotations = {
        "summary": rendered.title,
        "description": rendered.description,
        "account_name": alert.account_name,
        "evidence": rendered.evidence,
        "runbook_url": rendered.runbook_url,
        "account_url": rendered.account_url,
    }
    if alert.status is AlertStatus.FIRING:
        ends = alert.updated_at + firing_ttl
    else:
        ends = min(alert.updated_at, now)
    body: dict[str, Any] = {
        "labels": {key: value for key, value in labels.items() if value},
        "annotations": {key: value for key, value in annotations.items() if value},
        "startsAt": _iso(alert.started_at),
        "endsAt": _iso(ends),
    }
    if rendered.runbook_url:
        body["generatorURL"] = rendered.runbook_url
    return body


class AlertmanagerReceiver(HttpReceiver[AlertmanagerConfig]):
    """Posts every alert of a batch in one request."""

    kind: Literal["alertmanager"] = "alertmanager"

    async def send(self, batch: Batch, message: Message) -> None:
        now = datetime.now(UTC)
        body = [
            alertmanager_alert(alert, rendered, firing_ttl=self._config.firing_ttl, now=now)
            for alert, rendered in zip(batch.alerts, message.alerts, strict=True)
        ]
        url = self._config.url.get_secret_value().rstrip("/") + ALERTS_PATH
        await post_json(
            self._session,
            receiver=self.name,
            url=url,
            body=orjson.dumps(body),
            timeout=self._timeout,
        )
