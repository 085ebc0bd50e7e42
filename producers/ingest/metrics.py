"""Prometheus metrics of the HTTP ingest service (``kam ingest``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "kam_ingest_requests_total",
    "HTTP requests answered, by endpoint and status code.",
    ["endpoint", "status"],
)
EVENTS = Counter(
    "kam_ingest_events_total",
    "Events of requests, by endpoint and outcome (accepted, rejected, unavailable).",
    ["endpoint", "outcome"],
)
EVENTS_REJECTED = Counter(
    "kam_ingest_events_rejected_total",
    "Events rejected (kept as dead letters), by failure type.",
    ["failure_type"],
)
REQUEST_SECONDS = Histogram(
    "kam_ingest_request_seconds",
    "Time from a request's arrival to its answer, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
