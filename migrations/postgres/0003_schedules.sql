-- Schedules: the on/off state someone chose, and every tick the scheduler handled.

-- A row exists once someone switched the schedule (`orch schedules on|off`); until then the
-- definition's default applies. updated_at is when `enabled` last changed: the scheduler does not
-- catch up ticks from before a schedule was switched on.
CREATE TABLE schedule_states (
    name        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One row per handled tick. UNIQUE (schedule, tick_time) is what makes a tick launch exactly once
-- however many daemon replicas race for it: the tick and its run are inserted in one transaction,
-- and only the inserter of the tick creates the run. Its index also serves listing a schedule's
-- ticks newest first (a backward scan). run_id has no foreign key: pruning old runs must not
-- touch the tick history.
CREATE TABLE schedule_ticks (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule     TEXT NOT NULL,
    tick_time    TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED', 'FAILURE')),
    run_id       UUID,
    error        TEXT,
    recorded_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (schedule, tick_time)
);
-- Retention deletes by age.
CREATE INDEX schedule_ticks_by_recorded_at ON schedule_ticks (recorded_at);
