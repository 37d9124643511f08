-- How many asset checks of a run failed, kept by the transaction that records their
-- ASSET_CHECK_EVALUATION events, so run lists show and filter it without reading events.
ALTER TABLE runs ADD COLUMN checks_failed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_with_failed_checks ON runs (id DESC) WHERE checks_failed > 0;
