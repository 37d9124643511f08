-- Alerts on asset checks and freshness, through the same outbox as run-status alerts.

-- What an alert is about: NULL for a run's status (as before), 'CHECKS' for a run whose asset
-- checks failed (its failed checks in `error`), 'FRESHNESS' for a change of an asset's freshness
-- (`asset_key`, the new state in `freshness_state`, the reason in `error`; `run_id` is then the
-- alert's own id, not a run's).
ALTER TABLE alert_deliveries ADD COLUMN subject TEXT
    CHECK (subject IS NULL OR subject IN ('CHECKS', 'FRESHNESS'));
ALTER TABLE alert_deliveries ADD COLUMN asset_key TEXT;
ALTER TABLE alert_deliveries ADD COLUMN freshness_state TEXT;

-- The inbox of freshness changes to evaluate, written by the transaction that records the change
-- (`record_freshness_change`) and deleted by the one that records the alerts it caused
-- (FOR UPDATE SKIP LOCKED): each change is evaluated exactly once, as run_status_changes are.
CREATE TABLE freshness_alert_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_key   TEXT NOT NULL,
    job         TEXT NOT NULL,
    previous    TEXT,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL
);
