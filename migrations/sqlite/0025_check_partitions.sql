-- Per-partition check verdicts. A check of a partitioned asset has a latest verdict per partition
-- (the run's key, or `start...end` for a range); '' is an unpartitioned run's verdict. A check
-- that failed for 2026-03-01 and passed for 2026-03-02 keeps both rows. SQLite cannot change a
-- primary key in place: the table is rebuilt.
CREATE TABLE asset_check_latest_new (
    asset_key     TEXT NOT NULL,
    check_name    TEXT NOT NULL,
    partition_key TEXT NOT NULL DEFAULT '',
    run_id        BLOB NOT NULL,
    event_id      INTEGER NOT NULL,
    passed        BOOLEAN NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('WARN', 'ERROR')),
    evaluated_at  TEXT NOT NULL,
    PRIMARY KEY (asset_key, check_name, partition_key)
);
INSERT INTO asset_check_latest_new (asset_key, check_name, partition_key, run_id, event_id,
                                    passed, severity, evaluated_at)
    SELECT asset_key, check_name, '', run_id, event_id, passed, severity, evaluated_at
    FROM asset_check_latest;
DROP TABLE asset_check_latest;
ALTER TABLE asset_check_latest_new RENAME TO asset_check_latest;
