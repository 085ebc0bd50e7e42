-- Is the company really treating strategic accounts differently, and is it reciprocated?
-- treatment_gap: per contact point x window x KPI, the mean latest value over strategic, key
-- and standard accounts (today's tier) and the strategic-vs-standard gap, positive when
-- strategic accounts are served better (the KPI's good direction is in kpi_catalogue).
-- account_reciprocity(end, horizon_days): per account, value signals and cost to serve.

CREATE TABLE IF NOT EXISTS {database}.kpi_catalogue
(
    kpi String COMMENT 'KPI name as in kpi_snapshots',
    better Enum8('higher' = 1, 'lower' = 2) COMMENT 'Which way the KPI is better (streams.alerting.kpis.KPIS)'
)
ENGINE = ReplacingMergeTree
ORDER BY kpi
COMMENT 'Good direction of each KPI, for the treatment gap; a test keeps it equal to the code';

INSERT INTO {database}.kpi_catalogue (kpi, better)
SELECT kpi, better FROM values('kpi String, better String',
    ('otif', 'higher'),
    ('delivery_delay_hours_avg', 'lower'),
    ('damage_rate', 'lower'),
    ('failed_delivery_rate', 'lower'),
    ('return_rate', 'lower'),
    ('first_response_minutes_p50', 'lower'),
    ('first_response_minutes_p90', 'lower'),
    ('resolution_minutes_p50', 'lower'),
    ('resolution_minutes_p90', 'lower'),
    ('sla_attainment', 'higher'),
    ('csat_satisfied_rate', 'higher'),
    ('csat_avg', 'higher'),
    ('nps', 'higher'),
    ('reopen_rate', 'lower'),
    ('escalation_rate', 'lower'),
    ('invoice_accuracy', 'higher'),
    ('dispute_rate', 'lower'),
    ('dispute_resolution_days_avg', 'lower'),
    ('late_payment_rate', 'lower'),
    ('days_late_avg', 'lower'),
    ('payment_failure_rate', 'lower'),
    ('quote_turnaround_hours_avg', 'lower'),
    ('order_confirmation_hours_avg', 'lower'),
    ('supplier_cancellation_rate', 'lower'),
    ('days_since_executive_contact', 'lower'),
    ('experience_score', 'higher'))
WHERE (SELECT count() FROM {database}.kpi_catalogue) = 0;

CREATE VIEW IF NOT EXISTS {database}.treatment_gap
AS SELECT
    contact_point,
    window,
    kpi,
    strategic_value,
    key_value,
    standard_value,
    strategic_accounts,
    key_accounts,
    standard_accounts,
    multiIf(better = 'higher', strategic_value - standard_value,
            better = 'lower', standard_value - strategic_value, NULL) AS gap,
    if(standard_value = 0, NULL, gap / abs(standard_value)) AS relative_gap,
    latest_as_of
FROM
(
    SELECT
        latest.contact_point AS contact_point,
        latest.window AS window,
        latest.kpi AS kpi,
        avgOrNullIf(latest.value, tiers.tier = 'strategic') AS strategic_value,
        avgOrNullIf(latest.value, tiers.tier = 'key') AS key_value,
        avgOrNullIf(latest.value, tiers.tier = 'standard') AS standard_value,
        countIf(tiers.tier = 'strategic') AS strategic_accounts,
        countIf(tiers.tier = 'key') AS key_accounts,
        countIf(tiers.tier = 'standard') AS standard_accounts,
        max(latest.value_as_of) AS latest_as_of
    FROM
    (
        SELECT
            account_id,
            contact_point,
            window,
            kpi,
            argMax(tuple(value), (ifNull(as_of, computed_at), computed_at)).1 AS value,
            max(ifNull(as_of, computed_at)) AS value_as_of
        FROM {database}.kpi_snapshots
        GROUP BY account_id, contact_point, window, kpi
    ) AS latest
    INNER JOIN
    (
        SELECT account_id, tier FROM {database}.accounts FINAL
        WHERE tier IN ('strategic', 'key', 'standard')
    ) AS tiers ON latest.account_id = tiers.account_id
    WHERE latest.value IS NOT NULL
    GROUP BY contact_point, window, kpi
) AS per_tier
LEFT JOIN {database}.kpi_catalogue AS catalogue ON per_tier.kpi = catalogue.kpi
SETTINGS join_use_nulls = 1;

CREATE VIEW IF NOT EXISTS {database}.account_reciprocity
AS SELECT
    events.account_id AS account_id,
    accounts.name AS name,
    accounts.tier AS tier,
    accounts.tier_score AS tier_score,
    accounts.attributes AS attributes,
    count() AS events,
    sumIf(amount, event_type = 'invoice_issued') AS billed,
    sumIf(amount, event_type = 'invoice_issued' AND second_half = 0) AS billed_first_half,
    sumIf(amount, event_type = 'invoice_issued' AND second_half = 1) AS billed_second_half,
    countIf(event_type = 'payment_received') AS payments,
    countIf(event_type = 'payment_received' AND days_late = 0) AS payments_on_time,
    sumIf(amount, event_type = 'order_placed') AS ordered,
    countIf(event_type = 'order_placed' AND second_half = 0) AS orders_first_half,
    countIf(event_type = 'order_placed' AND second_half = 1) AS orders_second_half,
    countIf(event_type = 'csat_submitted') AS csat_responses,
    countIf(event_type = 'csat_submitted' AND score >= 4) AS csat_satisfied,
    countIf(event_type = 'nps_submitted') AS nps_responses,
    countIf(event_type = 'nps_submitted' AND score >= 9) AS nps_promoters,
    countIf(event_type = 'nps_submitted' AND score <= 6) AS nps_detractors,
    countIf(event_type = 'ticket_opened') AS tickets,
    countIf(event_type = 'ticket_escalated') AS escalations,
    countIf(event_type = 'invoice_disputed') AS disputes,
    countIf(event_type = 'credit_note_issued') AS credit_notes,
    countIf(event_type = 'delivery_failed') AS failed_deliveries,
    countIf(event_type = 'return_received') AS returns
FROM
(
    SELECT
        account_id,
        event_type,
        JSONExtractFloat(payload, 'amount') AS amount,
        JSONExtractInt(payload, 'days_late') AS days_late,
        JSONExtractInt(payload, 'score') AS score,
        occurred_at >= {end:DateTime64(3, 'UTC')}
            - toIntervalSecond({horizon_days:UInt32} * 43200) AS second_half
    FROM {database}.touchpoints
    WHERE occurred_at >= {end:DateTime64(3, 'UTC')} - toIntervalDay({horizon_days:UInt32})
      AND occurred_at < {end:DateTime64(3, 'UTC')}
    LIMIT 1 BY event_id, source_system
) AS events
INNER JOIN
(
    SELECT account_id, name, tier, tier_score, attributes FROM {database}.accounts FINAL
) AS accounts ON events.account_id = accounts.account_id
GROUP BY account_id, name, tier, tier_score, attributes;
