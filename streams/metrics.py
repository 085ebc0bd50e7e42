"""Prometheus metrics of the stream worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streams.loop_lag import RecentMax

LOOP_LAG_MAX_WINDOW_SECONDS = 5.0

EVENTS_CONSUMED = Counter(
    "kam_worker_events_consumed_total", "Touchpoint messages consumed by the worker."
)
EVENTS_VALID = Counter(
    "kam_worker_events_valid_total",
    "Touchpoints that passed validation, by contact point and account tier.",
    ["contact_point", "tier"],
)
EVENTS_INVALID = Counter(
    "kam_worker_events_invalid_total",
    "Messages sent to the dead-letter topic, by failure type.",
    ["failure_type"],
)
BAD_EXPERIENCES = Counter(
    "kam_worker_bad_experiences_total",
    "Touchpoints that are a bad experience on their own, by contact point and tier.",
    ["contact_point", "tier"],
)
ALERTS_EMITTED = Counter(
    "kam_worker_alerts_emitted_total",
    "Alert states sent to the alerts topic, by contact point, tier and status.",
    ["contact_point", "tier", "status"],
)
ACCOUNT_UPDATES = Counter(
    "kam_worker_account_updates_total", "Account records applied, by outcome.", ["outcome"]
)
BATCH_SECONDS = Histogram(
    "kam_worker_batch_seconds",
    "Time to process one batch of touchpoints and hand its output to the producer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
BATCH_SIZE = Histogram(
    "kam_worker_batch_size",
    "Messages per processed batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
KPI_UPDATES = Counter(
    "kam_worker_kpi_updates_total",
    "KPI updates sent to the KPI topic (throttled: at most one per key per interval).",
)
EVENTS_REPLAYED = Counter(
    "kam_worker_events_replayed_total",
    "Events redelivered after a restart: re-emitted, but not counted again in KPIs or alerts.",
)
EVENTS_TOO_LATE = Counter(
    "kam_worker_events_too_late_total",
    "Events older than the longest KPI window: enriched and stored, not in any KPI.",
)
ASSIGNED_PARTITIONS = Gauge(
    "kam_worker_assigned_partitions",
    "Touchpoint partitions this worker owns after the last rebalance.",
)
EVENTS_DUPLICATE = Counter(
    "kam_worker_events_duplicate_total",
    "Events whose id was already counted (published twice): stored, not counted again in KPIs.",
)
OUTPUTS_REFUSED = Counter(
    "kam_worker_outputs_refused",
    "Outputs the broker refused for good (e.g. too large): each sent as an output_refused "
    "dead letter instead.",
)
EVENT_LOOP_LAG = Histogram(
    "kam_worker_event_loop_lag_seconds",
    "How much later than asked the event loop woke a task sleeping KAM_WORKER_LOOP_PROBE_SECONDS "
    "(a stall delays every event, timer and output by as much).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENT_LOOP_LAG_RECENT = RecentMax(window=LOOP_LAG_MAX_WINDOW_SECONDS)
EVENT_LOOP_LAG_MAX = Gauge(
    "kam_worker_event_loop_lag_max_seconds",
    f"The largest event-loop lag of the last {LOOP_LAG_MAX_WINDOW_SECONDS:g} to "
    f"{2 * LOOP_LAG_MAX_WINDOW_SECONDS:g} seconds.",
)
EVENT_LOOP_LAG_MAX.set_function(EVENT_LOOP_LAG_RECENT.value)


def observe_loop_lag(seconds: float) -> None:
    """One sample of the event-loop lag probe (:func:`streams.loop_lag.probe_loop_lag`)."""
    EVENT_LOOP_LAG.observe(seconds)
    EVENT_LOOP_LAG_RECENT.observe(seconds)
