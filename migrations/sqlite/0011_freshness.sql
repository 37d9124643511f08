-- The SQLite twin of migrations/postgres/0011: same tables, timestamps as RFC 3339 TEXT.
CREATE TABLE asset_freshness (
    asset_key   TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('FRESH', 'WARN', 'OVERDUE', 'UNKNOWN')),
    reason      TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);

CREATE TABLE freshness_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_key   TEXT NOT NULL,
    ts          TEXT NOT NULL,
    previous    TEXT,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX freshness_events_by_asset ON freshness_events (asset_key, id DESC);
CREATE INDEX freshness_events_by_time ON freshness_events (ts);
