-- The SQLite twin of migrations/postgres/0015: same table and column, timestamps as TEXT.
CREATE TABLE daemons (
    id              BLOB PRIMARY KEY,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    heartbeat_at    TEXT NOT NULL,
    last_action     TEXT,
    last_action_at  TEXT
);

ALTER TABLE runs ADD COLUMN claimed_by BLOB;
CREATE INDEX runs_claimed_without_worker ON runs (claimed_by)
    WHERE status = 'STARTING' AND worker IS NULL;
