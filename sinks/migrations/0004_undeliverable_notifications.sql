-- Notifications the notifier could not deliver (issue: alert delivery), kept for follow-up.

CREATE TABLE IF NOT EXISTS {database}.undeliverable_notifications
(
    notification_id String COMMENT 'Id of the notification (one message to one receiver)',
    receiver LowCardinality(String) COMMENT 'Receiver name from the routing file',
    receiver_kind LowCardinality(String) COMMENT 'alertmanager, pagerduty, slack or webhook',
    channel Nullable(String) COMMENT 'Channel the message was for, when the receiver has one',
    reason LowCardinality(String) COMMENT 'rejected (4xx) or retries_exhausted',
    attempts UInt16 COMMENT 'Delivery attempts made',
    last_error String COMMENT 'Receiver and HTTP status of the last failure (never secrets)',
    last_status Nullable(UInt16) COMMENT 'HTTP status of the last attempt, when there was one',
    alert_keys Array(String) COMMENT 'Alerts the notification carried',
    account_ids Array(String) COMMENT 'Accounts the notification was about',
    alerts String COMMENT 'The alert states as JSON text, for replay',
    first_attempt_at DateTime64(3, 'UTC') COMMENT 'First delivery attempt',
    failed_at DateTime64(3, 'UTC') COMMENT 'When it was given up',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(failed_at)
ORDER BY (failed_at, notification_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Notifications no receiver took: for on-call follow-up and replay';
