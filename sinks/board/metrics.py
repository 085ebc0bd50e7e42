"""Prometheus metrics of the account health board (``kam board``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "kam_board_requests",
    "HTTP requests answered, by route (portfolio, account, sql, static, healthz, other) and "
    "status code.",
    ["route", "status"],
)
REQUEST_SECONDS = Histogram(
    "kam_board_request_seconds",
    "Time from a request's arrival to its answer, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
STORE_ERRORS = Counter(
    "kam_board_store_errors",
    "ClickHouse statements that failed or timed out (the page answered 503), by error type.",
    ["error"],
)
