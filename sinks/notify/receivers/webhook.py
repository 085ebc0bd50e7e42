"""A generic JSON webhook, signed with HMAC-SHA256 (see :mod:`sinks.notify.signing`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import aiohttp
import orjson

from sinks.notify.config import WebhookReceiver as WebhookConfig
from sinks.notify.grouping import Batch
from sinks.notify.receivers.base import HttpReceiver, post_json
from sinks.notify.render import Message
from sinks.notify.signing import NOTIFICATION_ID_HEADER, signed_headers

WEBHOOK_VERSION = 1


def webhook_body(batch: Batch, message: Message) -> dict[str, Any]:
    """The JSON document a webhook receives: the rendered text and every alert state."""
    return {
        "version": WEBHOOK_VERSION,
        "notification_id": batch.notification_id,
        "receiver": batch.receiver,
        "channel": batch.channel,
        "group_key": batch.group_key,
        "title": message.title,
        "text": message.text,
        "alerts": [
            {
                **item.alert.model_dump(mode="json"),
                "dedup_key": item.dedup_key,
                "runbook_url": rendered.runbook_url,
                "account_url": rendered.account_url,
                "text": rendered.text,
            }
            for item, rendered in zip(batch.items, message.alerts, strict=True)
        ],
    }


class WebhookReceiver(HttpReceiver[WebhookConfig]):
    kind: Literal["webhook"] = "webhook"

    def __init__(
        self,
        *,
        name: str,
        config: WebhookConfig,
        session: aiohttp.ClientSession,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name=name, config=config, session=session, timeout=timeout)
        self._clock = clock

    async def send(self, batch: Batch, message: Message) -> None:
        body = orjson.dumps(webhook_body(batch, message))
        secret = self._config.secret.get_secret_value().encode()
        headers = {
            **signed_headers(secret, int(self._clock()), body),
            NOTIFICATION_ID_HEADER: batch.notification_id,
        }
        await post_json(
            self._session,
            receiver=self.name,
            url=self._config.url.get_secret_value(),
            body=body,
            timeout=self._timeout,
            headers=headers,
        )
