-- The audit log: one row per mutation through the web server or the CLI (launch, cancel,
-- re-execute, schedule and sensor switches, reload, prune): who, what, on what, when and from
-- where. Pruned with the ticks by the daemon's retention (`[retention] ticks`).
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    who         TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    client      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
