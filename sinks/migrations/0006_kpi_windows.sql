-- KPI rows say which window they describe and what "no data" is: every window ends at the
-- worker's stream time (as_of), and a KPI without data in a window has a row with NULL value,
-- so the latest row per account x contact point x window x KPI is always the current value.

ALTER TABLE {database}.kpi_snapshots
    MODIFY COLUMN value Nullable(Float64)
        COMMENT 'KPI value in the unit its name says (ratios 0-1, scores 0-100, *_hours in hours, *_minutes in minutes, days_* in days); NULL: no data in the window';

ALTER TABLE {database}.kpi_snapshots
    ADD COLUMN IF NOT EXISTS as_of Nullable(DateTime64(3, 'UTC'))
        COMMENT 'Stream time the value is as of: latest event time of the partition, moved on by the clock while it is quiet (NULL before migration 6)';

ALTER TABLE {database}.kpi_snapshots
    ADD COLUMN IF NOT EXISTS window_start Nullable(DateTime64(3, 'UTC'))
        COMMENT 'Start of the window the value covers (inclusive)';

ALTER TABLE {database}.kpi_snapshots
    ADD COLUMN IF NOT EXISTS window_end Nullable(DateTime64(3, 'UTC'))
        COMMENT 'End of the window the value covers (exclusive): end of the bucket of as_of';

CREATE TABLE IF NOT EXISTS {database}.kam_settings
(
    key String COMMENT 'Setting name, e.g. health_window',
    value String COMMENT 'Setting value',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When it was set'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key
COMMENT 'Settings the views read; kam db migrate writes health_window from KAM_SINK_HEALTH_WINDOW';

INSERT INTO {database}.kam_settings (key, value, updated_at)
SELECT 'health_window', '30d', toDateTime64('2000-01-01 00:00:00', 3, 'UTC')
WHERE (SELECT count() FROM {database}.kam_settings WHERE key = 'health_window') = 0;

DROP VIEW IF EXISTS {database}.account_health_current;

CREATE VIEW IF NOT EXISTS {database}.account_health_current
AS SELECT
    score.account_id AS account_id,
    score.contact_point AS contact_point,
    score.window AS window,
    score.experience_score AS experience_score,
    score.scored_at AS scored_at,
    ifNull(open.open_alerts, 0) AS open_alerts
FROM
(
    SELECT
        account_id,
        contact_point,
        window,
        argMax(tuple(value), (ifNull(as_of, computed_at), computed_at)).1 AS experience_score,
        max(ifNull(as_of, computed_at)) AS scored_at
    FROM {database}.kpi_snapshots
    WHERE kpi = 'experience_score'
      AND window = (SELECT argMax(value, updated_at) FROM {database}.kam_settings
                    WHERE key = 'health_window')
    GROUP BY account_id, contact_point, window
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
