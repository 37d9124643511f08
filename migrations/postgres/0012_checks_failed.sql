-- Asset checks. How many asset checks of a run failed, kept by the transaction that records their
-- ASSET_CHECK_EVALUATION events, so run lists show and filter it without reading events.
ALTER TABLE runs ADD COLUMN checks_failed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_with_failed_checks ON runs (id DESC) WHERE checks_failed > 0;

-- The latest verdict of each (asset, check), kept current in the transaction that records the
-- evaluation, so asset health is read from here, never by scanning the event log.
CREATE TABLE asset_check_latest (
    asset_key     TEXT NOT NULL,
    check_name    TEXT NOT NULL,
    run_id        UUID NOT NULL,
    event_id      BIGINT NOT NULL,
    passed        BOOLEAN NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('WARN', 'ERROR')),
    evaluated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (asset_key, check_name)
);
