"""Alert notifications: route, group, dedup and snooze alert states, deliver them to receivers."""

from sinks.notify.config import RoutingConfig, load_routing_config
from sinks.notify.dispatcher import Decision, Dispatcher
from sinks.notify.exceptions import (
    DeliveryError,
    NotifyError,
    RetryableDeliveryError,
    RoutingConfigError,
)
from sinks.notify.grouping import Batch, MessageRef
from sinks.notify.render import render_alert, render_batch
from sinks.notify.snooze import Snooze, snooze_key

__all__ = [
    "Batch",
    "Decision",
    "DeliveryError",
    "Dispatcher",
    "MessageRef",
    "NotifyError",
    "RetryableDeliveryError",
    "RoutingConfig",
    "RoutingConfigError",
    "Snooze",
    "load_routing_config",
    "render_alert",
    "render_batch",
    "snooze_key",
]
