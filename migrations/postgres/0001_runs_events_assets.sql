-- Runs, their tags, the event log and the asset catalog.
-- Run ids are UUIDv7 (time-ordered), so `ORDER BY id DESC` is newest first and keyset pagination
-- needs no second column.

CREATE TABLE runs (
    id              UUID PRIMARY KEY,
    job             TEXT NOT NULL,
    status          TEXT NOT NULL,
    config          JSONB NOT NULL,
    tags            JSONB NOT NULL,
    parent_run_id   UUID,
    step_selection  JSONB,
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    ended_at        TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX runs_by_job ON runs (job, id DESC);
CREATE INDEX runs_by_status ON runs (status, id DESC);

-- Tags are also kept as JSON on the run row for reading; this table serves filtering.
CREATE TABLE run_tags (
    run_id  UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_by_key_value ON run_tags (key, value, run_id DESC);

CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ts          TIMESTAMPTZ NOT NULL,
    step_key    TEXT,
    event_type  TEXT NOT NULL,
    asset_key   TEXT,
    payload     JSONB NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, id);
CREATE INDEX events_by_asset ON events (asset_key, id DESC) WHERE asset_key IS NOT NULL;

-- The latest materialization of each asset, kept current in the transaction that records it.
CREATE TABLE assets (
    asset_key             TEXT PRIMARY KEY,
    last_run_id           UUID NOT NULL,
    last_event_id         BIGINT NOT NULL,
    last_materialized_at  TIMESTAMPTZ NOT NULL,
    last_metadata         JSONB NOT NULL
);
