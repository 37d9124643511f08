-- The daemon's columns and the change notifications.
-- heartbeat_at: the worker's last sign of life. worker: the launcher's handle on the worker
-- (JSON: a local process id and host, or a Kubernetes Job), so any daemon replica can inspect or
-- terminate it.
ALTER TABLE runs ADD COLUMN heartbeat_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN worker JSONB;

-- One row whose lock serializes the claimers of queued runs across daemon replicas, so the
-- concurrency limits they check cannot be overrun by two claims at once.
CREATE TABLE run_queue_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    claimed_at  TIMESTAMPTZ
);
INSERT INTO run_queue_lock (id) VALUES (1);

-- Every run created, and every status change, is announced on channel orch_changes as
-- 'run <id> <STATUS>'; daemons LISTEN and wake at once. Heartbeats and event appends do not
-- touch `status` and announce nothing.
CREATE FUNCTION orch_notify_run_status() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('orch_changes', 'run ' || NEW.id::text || ' ' || NEW.status);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER runs_notify_status
    AFTER INSERT OR UPDATE OF status ON runs
    FOR EACH ROW EXECUTE FUNCTION orch_notify_run_status();
