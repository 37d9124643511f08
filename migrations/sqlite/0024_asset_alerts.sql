-- The SQLite twin of migrations/postgres/0024: alerts on asset checks and freshness.
ALTER TABLE alert_deliveries ADD COLUMN subject TEXT
    CHECK (subject IS NULL OR subject IN ('CHECKS', 'FRESHNESS'));
ALTER TABLE alert_deliveries ADD COLUMN asset_key TEXT;
ALTER TABLE alert_deliveries ADD COLUMN freshness_state TEXT;

CREATE TABLE freshness_alert_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_key   TEXT NOT NULL,
    job         TEXT NOT NULL,
    previous    TEXT,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
