-- Freshness of assets with a freshness policy: the state each asset is in now (one row per
-- asset, changed only by a conditional update, so replicas record each change once) and the
-- history of its changes (FRESHNESS_CHANGED events), newest read first.
CREATE TABLE asset_freshness (
    asset_key   TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('FRESH', 'WARN', 'OVERDUE', 'UNKNOWN')),
    reason      TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE freshness_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_key   TEXT NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    previous    TEXT,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX freshness_events_by_asset ON freshness_events (asset_key, id DESC);
CREATE INDEX freshness_events_by_time ON freshness_events (ts);
