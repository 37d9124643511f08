-- The SQLite twin of migrations/postgres/0004: same tables, same constraints, SQLite types
-- (booleans as 0/1, UUIDs as 16-byte BLOBs, timestamps as RFC 3339 TEXT in UTC). The evaluator
-- and the senders serialize on SQLite's write lock instead of row locks.
CREATE TABLE run_status_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      BLOB NOT NULL,
    job         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('SUCCESS', 'FAILURE', 'CANCELED')),
    message     TEXT,
    changed_at  TEXT NOT NULL
);

CREATE TABLE sensor_states (
    name        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE sensor_ticks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor      TEXT NOT NULL,
    tick_time   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED')),
    evaluated   INTEGER NOT NULL,
    run_ids     TEXT NOT NULL
);
CREATE INDEX sensor_ticks_by_sensor ON sensor_ticks (sensor, id DESC);
CREATE INDEX sensor_ticks_by_time ON sensor_ticks (tick_time);

CREATE TABLE alert_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor           TEXT NOT NULL,
    run_id           BLOB NOT NULL,
    job              TEXT NOT NULL,
    run_status       TEXT NOT NULL,
    ended_at         TEXT NOT NULL,
    step_key         TEXT,
    error            TEXT,
    state            TEXT NOT NULL
                     CHECK (state IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED', 'UNCERTAIN')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    lease_owner      TEXT,
    lease_until      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    delivered_at     TEXT,
    UNIQUE (sensor, run_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);

CREATE TABLE alert_pace (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    next_send_at  TEXT NOT NULL
);
INSERT INTO alert_pace (id, next_send_at) VALUES (1, '1970-01-01T00:00:00+00:00');
