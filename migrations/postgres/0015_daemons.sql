-- Daemon replicas and their leases: each process registers here and heartbeats about once a
-- second; runs.claimed_by names the replica that claimed a run, so a live replica can take over
-- the claimed runs of a dead one (lease expired, no worker yet) with one conditional update.
CREATE TABLE daemons (
    id              UUID PRIMARY KEY,
    host            TEXT NOT NULL,
    pid             BIGINT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    heartbeat_at    TIMESTAMPTZ NOT NULL,
    last_action     TEXT,
    last_action_at  TIMESTAMPTZ
);

ALTER TABLE runs ADD COLUMN claimed_by UUID;
-- Only the runs waiting for a worker are looked at by a take-over.
CREATE INDEX runs_claimed_without_worker ON runs (claimed_by)
    WHERE status = 'STARTING' AND worker IS NULL;
