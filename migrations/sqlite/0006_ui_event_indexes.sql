-- The web UI's reads of a run's event log (storage/browse.rs). A run may hold 100 000 events,
-- mostly LOG lines: the step timeline reads only the step lifecycle events, and a step's log
-- panel only that step's LOG lines. Partial indexes keep both reads proportional to what they
-- return. The IN list matches `STEP_LIFECYCLE_TYPES` and the query text in browse.rs.
CREATE INDEX events_step_lifecycle ON events (run_id, id)
    WHERE event_type IN ('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE', 'STEP_UP_RETRY',
                         'STEP_SKIPPED', 'STEP_CANCELED');
CREATE INDEX events_step_logs ON events (run_id, step_key, id) WHERE event_type = 'LOG';
