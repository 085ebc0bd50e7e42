-- The account columns of touchpoints describe the account version in force at the event's
-- time (streams.enrichment), not at processing time: a backfilled event carries the tier it had.

ALTER TABLE {database}.touchpoints
    COMMENT COLUMN tier 'Account tier of the version in force at occurred_at (the first version for older events)',
    COMMENT COLUMN account_name 'Account name at occurred_at',
    COMMENT COLUMN kam_owner 'Key account manager at occurred_at',
    COMMENT COLUMN kam_team 'KAM team at occurred_at',
    COMMENT COLUMN tier_score 'Tiering score 0-100 at occurred_at';
