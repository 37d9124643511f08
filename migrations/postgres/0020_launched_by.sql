-- Who started each run: a token's name, `sso:<user>`, `schedule:<name>`, `sensor:<name>`,
-- `backfill:<id>`, `reexecute:<parent run id>`, `cli` or `anonymous`; NULL for runs created
-- before this column. Indexed for `orch runs list --launched-by` (newest first).
ALTER TABLE runs ADD COLUMN launched_by TEXT;
CREATE INDEX runs_launched_by ON runs (launched_by, id);
