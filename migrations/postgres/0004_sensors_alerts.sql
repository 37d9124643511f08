-- Run-status sensors and the Slack alert outbox.

-- The inbox of status changes to evaluate: one row per run that reached SUCCESS, FAILURE or
-- CANCELED, inserted by the transaction that made the change (storage's `transition_in_tx`), so
-- no change can be missed. The sensor evaluator deletes the rows it evaluates in the transaction
-- that records their alerts and ticks, taking them with FOR UPDATE SKIP LOCKED: each change is
-- evaluated exactly once across restarts and replicas, and no id is ever used as a cursor (ids
-- commit out of order on PostgreSQL). No foreign key: evaluation tolerates a pruned run.
CREATE TABLE run_status_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      UUID NOT NULL,
    job         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('SUCCESS', 'FAILURE', 'CANCELED')),
    message     TEXT,
    changed_at  TIMESTAMPTZ NOT NULL
);

-- A row exists once someone switched the sensor (`orch sensors on|off`); until then the
-- definition's default applies.
CREATE TABLE sensor_states (
    name        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One row per sensor per evaluation of a batch of changes: SUCCESS when it matched runs (their
-- ids in run_ids), SKIPPED when none matched.
CREATE TABLE sensor_ticks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor      TEXT NOT NULL,
    tick_time   TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED')),
    evaluated   INTEGER NOT NULL,
    run_ids     JSONB NOT NULL
);
CREATE INDEX sensor_ticks_by_sensor ON sensor_ticks (sensor, id DESC);
CREATE INDEX sensor_ticks_by_time ON sensor_ticks (tick_time);

-- The durable outbox: one alert per (sensor, run), never two (the UNIQUE constraint). State
-- machine: PENDING -> SENDING (claimed under a lease, attempt counted, committed before the
-- request) -> DELIVERED | PENDING (retry at next_attempt_at) | FAILED (permanent refusal, or
-- given up). A SENDING row whose lease expired belonged to a sender that died during the request:
-- it becomes UNCERTAIN and is never sent again (at most once).
CREATE TABLE alert_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor           TEXT NOT NULL,
    run_id           UUID NOT NULL,
    job              TEXT NOT NULL,
    run_status       TEXT NOT NULL,
    ended_at         TIMESTAMPTZ NOT NULL,
    step_key         TEXT,
    error            TEXT,
    state            TEXT NOT NULL
                     CHECK (state IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED', 'UNCERTAIN')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_until      TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    UNIQUE (sensor, run_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);

-- One row whose lock serializes senders across replicas and paces them: a sender may post only
-- when next_send_at has passed, and moves it on by the minimum interval (Slack: about one
-- message a second per webhook) or by a 429's Retry-After.
CREATE TABLE alert_pace (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    next_send_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO alert_pace (id, next_send_at) VALUES (1, '1970-01-01T00:00:00Z');
