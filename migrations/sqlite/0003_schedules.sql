-- The SQLite twin of migrations/postgres/0003: same tables, same constraints, SQLite types
-- (booleans as 0/1, UUIDs as 16-byte BLOBs, timestamps as RFC 3339 TEXT in UTC, which sorts in
-- time order).
CREATE TABLE schedule_states (
    name        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE schedule_ticks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule     TEXT NOT NULL,
    tick_time    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED', 'FAILURE')),
    run_id       BLOB,
    error        TEXT,
    recorded_at  TEXT NOT NULL,
    UNIQUE (schedule, tick_time)
);
CREATE INDEX schedule_ticks_by_recorded_at ON schedule_ticks (recorded_at);
