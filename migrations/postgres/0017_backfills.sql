-- Backfills, durable and driven by the daemon (storage/backfills.rs). A backfill is a job (or
-- a selection of its assets) over chunks of partition keys: one chunk per run (one key, or up
-- to the job's max_partitions_per_run consecutive keys), in submission order (`position`; a
-- reversed backfill is stored reversed). A chunk is submitted by setting its run_id in the
-- transaction that creates the run, conditionally on run_id being NULL: two daemons can never
-- submit one chunk twice. Counts per run status come from joining `runs`.
CREATE TABLE backfills (
    id              UUID PRIMARY KEY,
    job             TEXT NOT NULL,
    status          TEXT NOT NULL,
    mode            TEXT NOT NULL,
    step_selection  JSONB,
    max_concurrent  INTEGER NOT NULL,
    parent_id       UUID,
    partitions      BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX backfills_active ON backfills (status, id);

CREATE TABLE backfill_chunks (
    backfill_id  UUID NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    range_start  TEXT NOT NULL,
    range_end    TEXT NOT NULL,
    keys         INTEGER NOT NULL,
    run_id       UUID,
    PRIMARY KEY (backfill_id, position)
);
-- The next chunks to submit, in order.
CREATE INDEX backfill_chunks_pending ON backfill_chunks (backfill_id, position) WHERE run_id IS NULL;
CREATE INDEX backfill_chunks_by_run ON backfill_chunks (run_id) WHERE run_id IS NOT NULL;
