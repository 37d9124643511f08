-- Job snapshots: the definition of a job as it was when a run was created (versioned JSON of
-- its structure: assets, upstreams, commands, retries, checks), stored once per version (the
-- SHA-256 of that JSON) and named by the run, so a worker executes what was launched even if
-- the job file changed since. Written in the transaction that creates the run.
CREATE TABLE job_snapshots (
    version     TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    snapshot    TEXT NOT NULL,        -- the exact bytes hashed (JSONB would reorder keys)
    created_at  TIMESTAMPTZ NOT NULL
);

-- NULL for runs created before snapshots existed, or by callers that record none.
ALTER TABLE runs ADD COLUMN definition_version TEXT;
