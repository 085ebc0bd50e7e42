-- Rollups for dashboards: daily counts per account x contact point, current health.

CREATE TABLE IF NOT EXISTS {database}.touchpoints_daily
(
    day Date COMMENT 'Day of occurred_at (UTC)',
    account_id String COMMENT 'Customer account id',
    contact_point Enum8('sales' = 1, 'logistics' = 2, 'support' = 3, 'billing' = 4)
        COMMENT 'Contact point',
    events UInt64 COMMENT 'Touchpoints that day; always sum() it',
    bad_experiences UInt64 COMMENT 'Touchpoints flagged as bad experiences that day; sum() it'
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (account_id, contact_point, day)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Daily rollup of touchpoints, filled by touchpoints_daily_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.touchpoints_daily_mv
TO {database}.touchpoints_daily
AS SELECT
    toDate(occurred_at) AS day,
    account_id,
    contact_point,
    count() AS events,
    countIf(bad_experience IS NOT NULL) AS bad_experiences
FROM {database}.touchpoints
GROUP BY day, account_id, contact_point;

CREATE VIEW IF NOT EXISTS {database}.account_health_current
AS SELECT
    score.account_id AS account_id,
    score.contact_point AS contact_point,
    score.experience_score AS experience_score,
    score.scored_at AS scored_at,
    open.open_alerts AS open_alerts
FROM
(
    SELECT
        account_id,
        contact_point,
        argMax(value, computed_at) AS experience_score,
        max(computed_at) AS scored_at
    FROM {database}.kpi_snapshots
    WHERE kpi = 'experience_score'
    GROUP BY account_id, contact_point
) AS score
LEFT JOIN
(
    SELECT account_id, contact_point, count() AS open_alerts
    FROM
    (
        SELECT
            alert_key,
            argMax(account_id, updated_at) AS account_id,
            toString(argMax(contact_point, updated_at)) AS contact_point,
            argMax(status, updated_at) AS status
        FROM {database}.alerts
        GROUP BY alert_key
    )
    WHERE status = 'firing'
    GROUP BY account_id, contact_point
) AS open
ON score.account_id = open.account_id AND score.contact_point = open.contact_point;
