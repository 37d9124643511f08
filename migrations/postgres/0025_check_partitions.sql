-- Per-partition check verdicts. A check of a partitioned asset has a latest verdict per partition
-- (the run's key, or `start...end` for a range); '' is an unpartitioned run's verdict. A check
-- that failed for 2026-03-01 and passed for 2026-03-02 keeps both rows.
ALTER TABLE asset_check_latest ADD COLUMN partition_key TEXT NOT NULL DEFAULT '';
ALTER TABLE asset_check_latest DROP CONSTRAINT asset_check_latest_pkey;
ALTER TABLE asset_check_latest ADD PRIMARY KEY (asset_key, check_name, partition_key);
