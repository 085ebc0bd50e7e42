"""Prometheus metrics of the ClickHouse sink (default registry, ``kam_sink_`` prefix)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter("kam_sink_rows_written", "Rows ClickHouse accepted, per table", ["table"])
ROWS_REJECTED = Counter(
    "kam_sink_rows_rejected", "Rows ClickHouse refused (kept in failed_events)", ["table"]
)
INSERT_ERRORS = Counter(
    "kam_sink_insert_errors", "Failed insert attempts, per table and error type", ["table", "error"]
)
BATCH_SECONDS = Histogram(
    "kam_sink_batch_seconds",
    "Time to write one batch (all its tables)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES_READ = Counter("kam_sink_messages_read", "Kafka messages consumed, per topic", ["topic"])
CONSUMER_LAG = Gauge(
    "kam_sink_consumer_lag", "High watermark - committed offset", ["topic", "partition"]
)
PAUSED = Gauge("kam_sink_paused", "1 while partitions are paused because ClickHouse is unavailable")
RETRIES = Counter("kam_sink_retries", "Batch writes retried after ClickHouse was unavailable")
REPEATS_DROPPED = Counter(
    "kam_sink_repeats_dropped",
    "Messages not written because their origin was already stored (a worker sent them again)",
    ["topic"],
)
