-- The SQLite twin of migrations/postgres/0002 (change notifications are in-process here, so no
-- trigger).
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN worker TEXT;

CREATE TABLE run_queue_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    claimed_at  TEXT
);
INSERT INTO run_queue_lock (id) VALUES (1);
