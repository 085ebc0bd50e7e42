"""Prometheus metrics of the notifier, registered once per registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True, slots=True)
class NotifierMetrics:
    notifications: Counter
    alerts_notified: Counter
    delivery_seconds: Histogram
    retries: Counter
    undeliverable: Counter
    alert_states: Counter
    snoozes: Gauge
    open_groups: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NotifierMetrics:
        return cls(
            notifications=Counter(
                "kam_notify_notifications", "Notifications by receiver and outcome "
                "(delivered, rejected, retries_exhausted).", ["receiver", "outcome"],
                registry=registry,
            ),
            alerts_notified=Counter(
                "kam_notify_alerts_delivered", "Alert states delivered, by receiver and status.",
                ["receiver", "status"], registry=registry,
            ),
            delivery_seconds=Histogram(
                "kam_notify_delivery_seconds", "From first attempt to delivery, retries included.",
                ["receiver"], buckets=_LATENCY_BUCKETS, registry=registry,
            ),
            retries=Counter(
                "kam_notify_retries", "Delivery attempts after the first.", ["receiver"],
                registry=registry,
            ),
            undeliverable=Counter(
                "kam_notify_undeliverable", "Notifications recorded as undeliverable.",
                ["receiver", "reason"], registry=registry,
            ),
            alert_states=Counter(
                "kam_notify_alert_states", "Alert states read, by decision (queued, duplicate, "
                "stale, repeat, never_notified, snoozed, no_route, invalid).", ["decision"],
                registry=registry,
            ),
            snoozes=Gauge("kam_notify_snoozes", "Snooze records known.", registry=registry),
            open_groups=Gauge(
                "kam_notify_open_groups", "Notification groups waiting for their window.",
                registry=registry,
            ),
        )


_CREATED: dict[int, NotifierMetrics] = {}


def notifier_metrics(registry: CollectorRegistry | None = None) -> NotifierMetrics:
    """The notifier's metrics in ``registry`` (default: the global one), created on first use."""
    registry = registry or REGISTRY
    if id(registry) not in _CREATED:
        _CREATED[id(registry)] = NotifierMetrics.create(registry)
    return _CREATED[id(registry)]
