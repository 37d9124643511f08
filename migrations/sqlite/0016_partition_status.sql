-- Partition status, kept incrementally: one row per (job, asset, partition) that a run has
-- targeted or materialized, written in the same transaction as the run creation, the
-- materialization event or the run's end that changes it (storage/partition_status.rs), so
-- "materialized / failed / in progress / missing" is read from this index, never from the event
-- log. A key without a row is missing. `prior_status` is what the row said before its latest
-- run began: a run that ends without ever starting (canceled while queued) puts it back.
CREATE TABLE partition_status (
    job                    TEXT NOT NULL,
    asset_key              TEXT NOT NULL,
    partition_key          TEXT NOT NULL,
    status                 TEXT NOT NULL,
    prior_status           TEXT NOT NULL,
    run_id                 BLOB,
    materialized_run_id    BLOB,
    materialized_event_id  INTEGER,
    materialized_at        TEXT,
    updated_at             TEXT NOT NULL,
    PRIMARY KEY (job, asset_key, partition_key)
);
-- Keys by status, in key order (keyset listing).
CREATE INDEX partition_status_by_status ON partition_status (job, asset_key, status, partition_key);
-- The rows a run's end updates.
CREATE INDEX partition_status_by_run ON partition_status (run_id);
