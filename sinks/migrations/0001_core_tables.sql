-- Facts as they arrive from Kafka: one table per fact, every column documented.
-- {database} is replaced by ClickHouseSettings.database. Every statement is idempotent.

CREATE TABLE IF NOT EXISTS {database}.touchpoints
(
    event_id String COMMENT 'Id the source system gave the event (unique per source system)',
    account_id String COMMENT 'Customer account the touchpoint concerns',
    contact_point Enum8('sales' = 1, 'logistics' = 2, 'support' = 3, 'billing' = 4)
        COMMENT 'Department that served the customer; fixed by event_type',
    event_type LowCardinality(String) COMMENT 'Catalogue event type, e.g. delivery_completed',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When it happened in the source system (UTC)',
    source_system LowCardinality(String) COMMENT 'Publishing system, e.g. crm, wms, helpdesk, erp',
    schema_version UInt16 COMMENT 'Version of the touchpoint envelope',
    trace_id Nullable(String) COMMENT 'Correlation id across systems, when the source sent one',
    payload String COMMENT 'Event-type specific fields as JSON text; read with JSONExtract*()',
    tier Enum8('strategic' = 1, 'key' = 2, 'standard' = 3, 'unknown' = 4)
        COMMENT 'Account tier in force when the event was processed',
    account_name Nullable(String) COMMENT 'Account name at processing time',
    kam_owner Nullable(String) COMMENT 'Key account manager at processing time',
    kam_team Nullable(String) COMMENT 'KAM team at processing time',
    tier_score Nullable(Float64) COMMENT 'Tiering score 0-100 at processing time',
    bad_experience Nullable(String)
        COMMENT 'Plain-words reason when this single event is a bad experience, else NULL',
    processed_at DateTime64(3, 'UTC') COMMENT 'When the stream workers enriched the event',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (account_id, contact_point, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'One row per enriched touchpoint';

CREATE TABLE IF NOT EXISTS {database}.failed_events
(
    failure_type LowCardinality(String)
        COMMENT 'Why it failed: a DeadLetter failure_type, sink_undecodable or sink_rejected',
    detail String COMMENT 'Human-readable reason (validator or ClickHouse message)',
    field_path Nullable(String) COMMENT 'Path of the offending field, when known',
    source_topic LowCardinality(String) COMMENT 'Topic of the original message',
    source_partition Int32 COMMENT 'Partition of the original message',
    source_offset Int64 COMMENT 'Offset of the original message',
    original String COMMENT 'Original message bytes, base64; decode with base64Decode()',
    received_at DateTime64(3, 'UTC') COMMENT 'When the failure was recorded',
    read_topic LowCardinality(String) COMMENT 'Kafka topic this row was read from by the sink',
    read_partition UInt32 COMMENT 'Kafka partition this row was read from by the sink',
    read_offset UInt64 COMMENT 'Kafka offset this row was read from by the sink'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (failure_type, received_at)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Dead letters and rows ClickHouse rejected: never dropped, kept for inspection';

CREATE TABLE IF NOT EXISTS {database}.alerts
(
    alert_key String COMMENT 'Stable identity account:contact_point:rule; rows over time = lifecycle',
    account_id String COMMENT 'Account the alert is about',
    account_name Nullable(String) COMMENT 'Account name when the alert state was emitted',
    tier Enum8('strategic' = 1, 'key' = 2, 'standard' = 3, 'unknown' = 4) COMMENT 'Account tier',
    kam_owner Nullable(String) COMMENT 'Key account manager to notify',
    kam_team Nullable(String) COMMENT 'KAM team to notify',
    contact_point Enum8('sales' = 1, 'logistics' = 2, 'support' = 3, 'billing' = 4)
        COMMENT 'Contact point with the bad experience',
    rule LowCardinality(String) COMMENT 'Alert rule name',
    severity Enum8('critical' = 1, 'warning' = 2, 'info' = 3) COMMENT 'Severity of this state',
    status Enum8('firing' = 1, 'resolved' = 2) COMMENT 'firing or resolved',
    summary String COMMENT 'One-line description for humans',
    evidence String COMMENT 'Numbers behind the alert as JSON text',
    event_ids Array(String) COMMENT 'Touchpoints that triggered this state',
    started_at DateTime64(3, 'UTC') COMMENT 'When the alert first fired',
    updated_at DateTime64(3, 'UTC') COMMENT 'When this state was emitted',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(updated_at)
ORDER BY (account_id, alert_key, updated_at)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every state of every alert; the latest row per alert_key is its current state';

CREATE TABLE IF NOT EXISTS {database}.accounts
(
    account_id String COMMENT 'Customer account id',
    name String COMMENT 'Account name',
    tier Enum8('strategic' = 1, 'key' = 2, 'standard' = 3, 'unknown' = 4) COMMENT 'Account tier',
    tier_score Nullable(Float64) COMMENT 'Tiering score 0-100',
    kam_owner Nullable(String) COMMENT 'Key account manager',
    kam_team Nullable(String) COMMENT 'KAM team',
    segment Nullable(String) COMMENT 'Market segment',
    parent_account_id Nullable(String) COMMENT 'Parent account in a group of companies',
    updated_at DateTime64(3, 'UTC')
        COMMENT 'Version: updated_at of the record, else its Kafka timestamp',
    attributes String COMMENT 'Fields beyond the above (e.g. tiering criteria) as JSON text',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY account_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Current account master data; query with FINAL (ReplacingMergeTree by updated_at)';

CREATE TABLE IF NOT EXISTS {database}.account_tier_history
(
    account_id String COMMENT 'Customer account id',
    name String COMMENT 'Account name in this version',
    tier Enum8('strategic' = 1, 'key' = 2, 'standard' = 3, 'unknown' = 4)
        COMMENT 'Tier in this version',
    tier_score Nullable(Float64) COMMENT 'Tiering score 0-100 in this version',
    kam_owner Nullable(String) COMMENT 'Key account manager in this version',
    kam_team Nullable(String) COMMENT 'KAM team in this version',
    updated_at DateTime64(3, 'UTC') COMMENT 'When this version took effect',
    attributes String COMMENT 'Extra fields (e.g. criteria contributions) as JSON text',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = MergeTree
ORDER BY (account_id, updated_at, source_offset)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every published version of every account, for tier changes over time';

CREATE TABLE IF NOT EXISTS {database}.kpi_snapshots
(
    account_id String COMMENT 'Customer account id',
    contact_point LowCardinality(String) COMMENT 'Contact point, or overall for composite KPIs',
    window LowCardinality(String) COMMENT 'Rolling window of the KPI, e.g. 1h, 7d, 30d',
    kpi LowCardinality(String) COMMENT 'KPI name, e.g. otif, csat, experience_score',
    value Float64 COMMENT 'KPI value (ratios 0-1, scores 0-100, durations in seconds)',
    computed_at DateTime64(3, 'UTC') COMMENT 'When the value was computed',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the row was read from',
    source_partition UInt32 COMMENT 'Kafka partition the row was read from',
    source_offset UInt64 COMMENT 'Kafka offset the row was read from'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(computed_at)
ORDER BY (account_id, contact_point, kpi, window, computed_at)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Rolling KPI values over time; KPI names are strings, so new KPIs need no migration';

CREATE TABLE IF NOT EXISTS {database}.sink_batches
(
    consumer_group String COMMENT 'Kafka consumer group of the sink',
    topic String COMMENT 'Kafka topic of the batch',
    partition UInt32 COMMENT 'Kafka partition of the batch',
    first_offset UInt64 COMMENT 'First offset of the batch',
    last_offset UInt64 COMMENT 'Last offset of the batch',
    created_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the batch was cut'
)
ENGINE = MergeTree
ORDER BY (consumer_group, topic, partition, first_offset)
TTL toDateTime(created_at) + INTERVAL 7 DAY
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Sink bookkeeping: batch boundaries recorded before insert, replayed after a crash';
