-- The SQLite twin of migrations/postgres/0005: the run's W3C traceparent, and an index on ended_at
-- for the daemon's metrics, which follow runs as they end.
ALTER TABLE runs ADD COLUMN trace_parent TEXT;
CREATE INDEX runs_by_ended_at ON runs (ended_at) WHERE ended_at IS NOT NULL;
