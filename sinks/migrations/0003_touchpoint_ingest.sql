-- Enriched touchpoints are parsed by ClickHouse, not Python: the sink inserts the JSON text as
-- read from Kafka into touchpoints_ingest; touchpoints_parse_mv extracts every column once into
-- touchpoints_parsed with a `problem` (empty when the event is usable); two views route usable
-- rows to touchpoints and the others to failed_events. Both tables in between are Null engines
-- (nothing is stored there). Deduplication tokens of the insert carry through every view.

CREATE TABLE IF NOT EXISTS {database}.touchpoints_ingest
(
    message String COMMENT 'Enriched touchpoint JSON exactly as read from Kafka',
    kafka_time DateTime64(3, 'UTC') COMMENT 'Kafka timestamp of the message',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the message was read from',
    source_partition UInt32 COMMENT 'Kafka partition the message was read from',
    source_offset UInt64 COMMENT 'Kafka offset the message was read from'
)
ENGINE = Null
COMMENT 'Entry point of the sink for enriched touchpoints; rows land in touchpoints';

CREATE TABLE IF NOT EXISTS {database}.touchpoints_parsed
(
    problem String COMMENT 'Empty when usable, else the offending field (or: not JSON)',
    message String COMMENT 'The original JSON',
    kafka_time DateTime64(3, 'UTC') COMMENT 'Kafka timestamp of the message',
    event_id String COMMENT 'See touchpoints',
    account_id String COMMENT 'See touchpoints',
    contact_point String COMMENT 'See touchpoints (checked before the Enum conversion)',
    event_type String COMMENT 'See touchpoints',
    occurred_at Nullable(DateTime64(3, 'UTC')) COMMENT 'See touchpoints; NULL when unparsable',
    source_system String COMMENT 'See touchpoints',
    schema_version UInt16 COMMENT 'See touchpoints',
    trace_id Nullable(String) COMMENT 'See touchpoints',
    payload String COMMENT 'See touchpoints',
    tier String COMMENT 'See touchpoints (checked before the Enum conversion)',
    account_name Nullable(String) COMMENT 'See touchpoints',
    kam_owner Nullable(String) COMMENT 'See touchpoints',
    kam_team Nullable(String) COMMENT 'See touchpoints',
    tier_score Nullable(Float64) COMMENT 'See touchpoints',
    bad_experience Nullable(String) COMMENT 'See touchpoints',
    processed_at Nullable(DateTime64(3, 'UTC')) COMMENT 'See touchpoints; NULL when unparsable',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the message was read from',
    source_partition UInt32 COMMENT 'Kafka partition the message was read from',
    source_offset UInt64 COMMENT 'Kafka offset the message was read from'
)
ENGINE = Null
COMMENT 'Enriched touchpoints parsed once, before routing (stores nothing)';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.touchpoints_parse_mv
TO {database}.touchpoints_parsed
AS SELECT
    multiIf(
        NOT isValidJSON(message), 'not JSON',
        event_id = '', 'event.event_id',
        account_id = '', 'event.account_id',
        event_type = '', 'event.event_type',
        contact_point NOT IN ('sales', 'logistics', 'support', 'billing'), 'event.contact_point',
        occurred_at IS NULL, 'event.occurred_at',
        source_system = '', 'event.source_system',
        tier NOT IN ('strategic', 'key', 'standard', 'unknown'), 'account.tier',
        processed_at IS NULL, 'processed_at',
        ''
    ) AS problem,
    message,
    kafka_time,
    d.event.event_id AS event_id,
    d.event.account_id AS account_id,
    d.event.contact_point AS contact_point,
    d.event.event_type AS event_type,
    parseDateTime64BestEffortOrNull(d.event.occurred_at, 3, 'UTC') AS occurred_at,
    d.event.source_system AS source_system,
    d.event.schema_version AS schema_version,
    d.event.trace_id AS trace_id,
    JSONExtractRaw(message, 'event', 'payload') AS payload,
    d.account.tier AS tier,
    d.account.name AS account_name,
    d.account.kam_owner AS kam_owner,
    d.account.kam_team AS kam_team,
    d.account.tier_score AS tier_score,
    d.bad_experience AS bad_experience,
    parseDateTime64BestEffortOrNull(d.processed_at, 3, 'UTC') AS processed_at,
    source_topic,
    source_partition,
    source_offset
FROM
(
    SELECT
        *,
        JSONExtract(message, 'Tuple(event Tuple(event_id String, account_id String, contact_point String, event_type String, occurred_at String, source_system String, schema_version UInt16, trace_id Nullable(String)), account Tuple(tier String, name Nullable(String), kam_owner Nullable(String), kam_team Nullable(String), tier_score Nullable(Float64)), bad_experience Nullable(String), processed_at String)') AS d
    FROM {database}.touchpoints_ingest
);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.touchpoints_accept_mv
TO {database}.touchpoints
AS SELECT
    event_id, account_id, contact_point, event_type, assumeNotNull(occurred_at) AS occurred_at,
    source_system, schema_version, trace_id, payload, tier, account_name, kam_owner, kam_team,
    tier_score, bad_experience, assumeNotNull(processed_at) AS processed_at,
    source_topic, source_partition, source_offset
FROM {database}.touchpoints_parsed
WHERE problem = '';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.touchpoints_refuse_mv
TO {database}.failed_events
AS SELECT
    if(problem IN ('event.contact_point', 'account.tier'), 'sink_rejected', 'sink_undecodable')
        AS failure_type,
    if(problem = 'not JSON', 'not JSON', concat(problem, ': missing or invalid')) AS detail,
    if(problem = 'not JSON', NULL, problem) AS field_path,
    source_topic,
    toInt32(source_partition) AS source_partition,
    toInt64(source_offset) AS source_offset,
    base64Encode(message) AS original,
    kafka_time AS received_at,
    source_topic AS read_topic,
    source_partition AS read_partition,
    source_offset AS read_offset
FROM {database}.touchpoints_parsed
WHERE problem != '';
