"""Pure parts of the receivers: payloads, status classification, backoff, record schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.alerts import AlertStatus
from sinks.notify.config import DeliveryPolicy
from sinks.notify.delivery import backoff_delay
from sinks.notify.dispatcher import Dispatcher
from sinks.notify.exceptions import DeliveryError, RetryableDeliveryError
from sinks.notify.receivers import (
    alertmanager_alert,
    check_status,
    pagerduty_event,
    slack_message,
    webhook_body,
)
from sinks.notify.receivers.base import retry_after_seconds
from sinks.notify.records import SCHEMA_PATH, undeliverable_json_schema
from sinks.notify.render import Message, render_alert, render_batch
from tests.unit.notify.factories import RECEIVERS, T0, config, make_alert

CONFIG = config({})
BOARD = "https://board.example.com/"
PAGE = "https://board.example.com/accounts/ACC%201%2Fx"
"""The page of account ``ACC 1/x``: the id is percent-encoded, slash included."""


def test_alertmanager_firing_and_resolved_times() -> None:
    firing = make_alert(minutes=5)
    body = alertmanager_alert(firing, render_alert(firing, CONFIG),
                              firing_ttl=timedelta(hours=24), now=T0)
    assert (body["startsAt"], body["endsAt"]) == ("2026-11-27T09:00:00Z", "2026-11-28T09:05:00Z")
    assert "generatorURL" not in body
    resolved = make_alert(minutes=5, status=AlertStatus.RESOLVED)
    early = T0 + timedelta(minutes=4)
    body = alertmanager_alert(resolved, render_alert(resolved, CONFIG),
                              firing_ttl=timedelta(hours=24), now=early)
    assert body["endsAt"] == "2026-11-27T09:04:00Z"


def test_pagerduty_dedup_key_is_bounded() -> None:
    alert = make_alert("A" * 300)
    event = pagerduty_event(alert, render_alert(alert, CONFIG), routing_key="rk")
    assert event["dedup_key"].startswith("sha256:") and len(event["dedup_key"]) == 71


def test_slack_message_caps_sections() -> None:
    rendered = render_alert(make_alert(), CONFIG)
    message = Message(title="t", text="", alerts=(rendered,) * 50)
    body = slack_message(message, channel=None)
    assert len(body["blocks"]) == 47
    assert body["blocks"][-1]["elements"][0]["text"] == "and 5 more"
    assert "channel" not in body and "username" not in body


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [(200, None, None), (202, None, None), (429, RetryableDeliveryError, 7.0),
     (500, RetryableDeliveryError, 7.0), (503, RetryableDeliveryError, 7.0),
     (408, RetryableDeliveryError, 7.0), (400, DeliveryError, None),
     (404, DeliveryError, None)],
)
def test_check_status(status: int, error: type[Exception] | None, retry_after: float) -> None:
    if error is None:
        check_status("r", status, b"", "7")
        return
    with pytest.raises(error) as raised:
        check_status("r", status, b"nope", "7")
    assert type(raised.value) is error
    assert str(raised.value) == f"receiver r: HTTP {status} nope"
    assert getattr(raised.value, "retry_after", None) == retry_after


def test_retry_after_header() -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Fri, 27 Nov 2026 09:01:30 GMT", now=now) == 90.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_delay() -> None:
    policy = DeliveryPolicy.model_validate(
        {"initial_backoff": "1s", "max_backoff": "10s", "multiplier": 2.0}
    )
    assert [backoff_delay(n, policy, None) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(1, policy, 5.0) == 5.0
    assert backoff_delay(1, policy, 120.0) == 10.0


def test_undeliverable_schema_file_is_current() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == undeliverable_json_schema()


def test_every_receiver_links_to_the_account_page() -> None:
    alert = make_alert("ACC 1/x", minutes=5)
    rendered = render_alert(alert, CONFIG, board_url=BOARD)
    assert rendered.account_url == PAGE
    assert rendered.lines[-1] == f"Account page: {PAGE}"
    am = alertmanager_alert(alert, rendered, firing_ttl=timedelta(hours=1), now=T0)
    assert am["annotations"]["account_url"] == PAGE
    pd = pagerduty_event(alert, rendered, routing_key="rk")
    assert pd["links"] == [{"href": PAGE, "text": "Account page"}]
    assert pd["payload"]["custom_details"]["account_url"] == PAGE
    slack = slack_message(Message(title="t", text="", alerts=(rendered,)), channel=None)
    assert slack["blocks"][1]["accessory"] == {
        "type": "button", "text": {"type": "plain_text", "text": "Open account page"},
        "url": PAGE,
    }
    webhook = config({"receivers": {"w": RECEIVERS["digest"]}, "defaults": {"group_wait": "0s"},
                      "default_route": {"name": "default", "receivers": ["w"]}})
    dispatcher = Dispatcher(config=webhook)
    dispatcher.offer(alert, now=T0)
    (batch,) = dispatcher.due(T0)
    body = webhook_body(batch, render_batch(batch, CONFIG, board_url=BOARD))
    assert [item["account_url"] for item in body["alerts"]] == [PAGE]
    assert body["alerts"][0]["text"].endswith(f"Account page: {PAGE}")


def test_without_a_board_no_link_and_runbook_stays_the_pagerduty_link() -> None:
    runbooks = config({"defaults": {"runbook_url": "https://rb.example.com/{rule}"}})
    alert = make_alert(minutes=5)
    rendered = render_alert(alert, runbooks)
    assert rendered.account_url is None
    assert not any(line.startswith("Account page") for line in rendered.lines)
    am = alertmanager_alert(alert, rendered, firing_ttl=timedelta(hours=1), now=T0)
    assert "account_url" not in am["annotations"]
    assert pagerduty_event(alert, rendered, routing_key="rk")["links"] == [
        {"href": "https://rb.example.com/otif_below_target", "text": "Runbook"}
    ]
    linked = render_alert(alert, runbooks, board_url=BOARD)
    assert pagerduty_event(alert, linked, routing_key="rk")["links"] == [
        {"href": "https://board.example.com/accounts/ACC-1", "text": "Account page"},
        {"href": "https://rb.example.com/otif_below_target", "text": "Runbook"},
    ]
    section = slack_message(Message(title="t", text="", alerts=(rendered,)), channel=None)
    assert "accessory" not in section["blocks"][1]
