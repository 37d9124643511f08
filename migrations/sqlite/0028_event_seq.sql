-- Idempotent event writes: the worker numbers each run's events (1, 2, …) and writes a batch
-- with its numbers; a batch written again because the answer to its commit was lost stores
-- nothing twice (INSERT … ON CONFLICT DO NOTHING on this key). Events written by the daemon and
-- the run's end have no number (NULLs never conflict).
ALTER TABLE events ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX events_run_seq ON events (run_id, seq);
