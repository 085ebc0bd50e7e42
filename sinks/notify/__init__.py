"""Alert notifications: route, group, dedup and snooze alert states, deliver them to receivers.

Entry points: :func:`run_notifier` (the consumer process) and :func:`snooze_command`
(``kam alerts snooze``). The rest is the pure core and the receivers.
"""

from sinks.notify.commands import (
    add_snooze_arguments,
    add_unsnooze_arguments,
    snooze_command,
    unsnooze_command,
)
from sinks.notify.config import RoutingConfig, load_routing_config
from sinks.notify.dispatcher import Decision, Dispatcher
from sinks.notify.exceptions import (
    DeliveryError,
    NotifyError,
    RetryableDeliveryError,
    RoutingConfigError,
)
from sinks.notify.grouping import Batch, MessageRef
from sinks.notify.records import UndeliverableNotification
from sinks.notify.render import render_alert, render_batch
from sinks.notify.service import run_notifier
from sinks.notify.snooze import Snooze, snooze_key
from sinks.notify.topics import notifier_topics

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
    "UndeliverableNotification",
    "add_snooze_arguments",
    "add_unsnooze_arguments",
    "load_routing_config",
    "notifier_topics",
    "render_alert",
    "render_batch",
    "run_notifier",
    "snooze_command",
    "snooze_key",
    "unsnooze_command",
]
