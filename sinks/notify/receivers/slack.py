"""A Slack-compatible incoming webhook: one message (text + mrkdwn sections) per batch."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from sinks.notify.config import SlackReceiver as SlackConfig
from sinks.notify.grouping import Batch
from sinks.notify.receivers.base import HttpReceiver, post_json
from sinks.notify.render import Message

MAX_SECTIONS = 45
MAX_SECTION_TEXT = 3000


def slack_message(
    message: Message, *, channel: str | None, username: str | None = None
) -> dict[str, Any]:
    """The webhook body: ``text`` (fallback/notification line) and one section per alert."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{message.title}*"[:3000]}}
    ]
    for alert in message.alerts[:MAX_SECTIONS]:
        text = "\n".join((f"*{alert.title}*", *alert.lines))[:MAX_SECTION_TEXT]
        section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        if alert.account_url:
            section["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open account page"},
                "url": alert.account_url,
            }
        blocks.append(section)
    hidden = len(message.alerts) - MAX_SECTIONS
    if hidden > 0:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {hidden} more"}]}
        )
    body: dict[str, Any] = {"text": message.title, "blocks": blocks}
    if channel:
        body["channel"] = channel
    if username:
        body["username"] = username
    return body


class SlackReceiver(HttpReceiver[SlackConfig]):
    kind: Literal["slack"] = "slack"

    async def send(self, batch: Batch, message: Message) -> None:
        body = slack_message(message, channel=batch.channel, username=self._config.username)
        await post_json(
            self._session,
            receiver=self.name,
            url=self._config.url.get_secret_value(),
            body=orjson.dumps(body),
            timeout=self._timeout,
        )
