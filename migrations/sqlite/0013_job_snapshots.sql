-- The SQLite twin of migrations/postgres/0013: the same table, timestamps as TEXT.
CREATE TABLE job_snapshots (
    version     TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

ALTER TABLE runs ADD COLUMN definition_version TEXT;
