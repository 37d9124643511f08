-- Observability. trace_parent: the W3C traceparent of the run's trace, recorded when the daemon
-- claims the run, so whoever executes or inspects the run later can continue the same trace.
-- runs_by_ended_at: the daemon's metrics follow runs as they end (orch_runs_total, step durations)
-- with a range scan on ended_at instead of a table scan.
ALTER TABLE runs ADD COLUMN trace_parent TEXT;
CREATE INDEX runs_by_ended_at ON runs (ended_at) WHERE ended_at IS NOT NULL;
