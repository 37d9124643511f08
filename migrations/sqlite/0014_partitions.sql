-- Partitions. The partition keys a run targets: a single key in partition_key (indexed, so run
-- lists filter by partition without reading tags), a range in partition_range_start|end (a
-- single-key run has start = end = partition_key). Unpartitioned runs leave all three NULL.
ALTER TABLE runs ADD COLUMN partition_key TEXT;
ALTER TABLE runs ADD COLUMN partition_range_start TEXT;
ALTER TABLE runs ADD COLUMN partition_range_end TEXT;
CREATE INDEX runs_by_partition ON runs (partition_key, id DESC) WHERE partition_key IS NOT NULL;

-- The keys of dynamic partitions definitions, by definition name, in the order they were added
-- (id); a key is added once (the second add is a no-op) and removed by deleting its row.
CREATE TABLE dynamic_partitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    partition_key  TEXT NOT NULL,
    added_at       TEXT NOT NULL,
    UNIQUE (name, partition_key)
);
