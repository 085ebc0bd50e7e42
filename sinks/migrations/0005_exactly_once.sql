-- Exactly-once storage through worker crashes: the sink drops a message whose origin it has
-- already stored (see sinks/dedup.py), and dead letters say how much of the original they keep.

CREATE TABLE IF NOT EXISTS {database}.sink_origins
(
    consumer_group String COMMENT 'Kafka consumer group of the sink',
    topic String COMMENT 'Kafka topic the messages were read from',
    partition UInt32 COMMENT 'Kafka partition the messages were read from',
    stream String COMMENT 'Origin stream (kam-origin header), e.g. enriched/kam.touchpoints/3',
    major Int64 COMMENT 'Highest stored version of the stream, first part (e.g. source offset)',
    minor Int64 COMMENT 'Highest stored version of the stream, second part',
    last_offset UInt64 COMMENT 'Last offset of the batch that stored it',
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the batch was stored'
)
ENGINE = MergeTree
ORDER BY (consumer_group, topic, partition, stream, last_offset)
TTL toDateTime(stored_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Sink bookkeeping: per batch, the highest origin version it stored per stream';

ALTER TABLE {database}.failed_events
    ADD COLUMN IF NOT EXISTS original_size Nullable(UInt64)
        COMMENT 'Length of the whole original message in bytes (NULL before migration 5)';

ALTER TABLE {database}.failed_events
    ADD COLUMN IF NOT EXISTS original_sha256 Nullable(String)
        COMMENT 'Hex SHA-256 of the whole original message';

ALTER TABLE {database}.failed_events
    ADD COLUMN IF NOT EXISTS original_truncated Bool DEFAULT false
        COMMENT 'original holds only the first 256 KiB; the whole message is at source_*';
