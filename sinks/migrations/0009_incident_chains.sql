-- Where does one order go wrong across departments? An order whose bad events span two or more
-- contact points is ONE alert (rule 'incident_chain', streams/alerting/chains.py) in the alerts
-- table, its chain in the evidence JSON. incident_chains: the latest state of each chain alert,
-- the chain unpacked (event-time order) with the per-event alert keys it explains.

CREATE VIEW IF NOT EXISTS {database}.incident_chains
AS SELECT
    alert_key,
    account_id,
    account_name,
    tier,
    kam_owner,
    kam_team,
    JSONExtractString(evidence, 'reference', 'order_id') AS order_id,
    status,
    severity,
    JSONExtractString(evidence, 'transition') AS transition,
    JSONExtract(evidence, 'contact_points', 'Array(String)') AS contact_points,
    length(contact_points) AS departments,
    JSONExtract(evidence, 'chain',
        'Array(Tuple(occurred_at String, contact_point String, event_type String, event_id String, rule String, severity String, summary String))'
    ) AS chain,
    JSONExtract(evidence, 'explains', 'Array(String)') AS explains,
    summary,
    started_at,
    updated_at
FROM
(
    SELECT *
    FROM {database}.alerts
    WHERE rule = 'incident_chain'
    ORDER BY updated_at DESC, source_offset DESC
    LIMIT 1 BY alert_key
);
