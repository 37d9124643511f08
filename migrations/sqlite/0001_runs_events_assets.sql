-- The SQLite twin of migrations/postgres/0001: same tables, same indexes, SQLite types
-- (UUIDs as 16-byte BLOBs, timestamps as RFC 3339 TEXT, JSON as TEXT).

CREATE TABLE runs (
    id              BLOB PRIMARY KEY,
    job             TEXT NOT NULL,
    status          TEXT NOT NULL,
    config          TEXT NOT NULL,
    tags            TEXT NOT NULL,
    parent_run_id   BLOB,
    step_selection  TEXT,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    ended_at        TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX runs_by_job ON runs (job, id DESC);
CREATE INDEX runs_by_status ON runs (status, id DESC);

CREATE TABLE run_tags (
    run_id  BLOB NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_by_key_value ON run_tags (key, value, run_id DESC);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      BLOB NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ts          TEXT NOT NULL,
    step_key    TEXT,
    event_type  TEXT NOT NULL,
    asset_key   TEXT,
    payload     TEXT NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, id);
CREATE INDEX events_by_asset ON events (asset_key, id DESC) WHERE asset_key IS NOT NULL;

CREATE TABLE assets (
    asset_key             TEXT PRIMARY KEY,
    last_run_id           BLOB NOT NULL,
    last_event_id         INTEGER NOT NULL,
    last_materialized_at  TEXT NOT NULL,
    last_metadata         TEXT NOT NULL
);
