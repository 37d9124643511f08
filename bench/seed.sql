-- Seeds a migrated orch database with :runs runs (default 1 000 000) and 10 events each, as a
-- busy deployment accumulates them: time-ordered UUIDv7 ids one second apart, mixed statuses,
-- tags for the tag filter. Used by bench/web.sh; run with
--   psql "$DATABASE_URL" -v runs=1000000 -f bench/seed.sql
\set ON_ERROR_STOP on
\if :{?runs}
\else
  \set runs 1000000
\endif

SET synchronous_commit = off;

INSERT INTO runs (id, job, status, config, tags, created_at, started_at, ended_at, updated_at)
SELECT
    (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(i::text), 1, 3) || '8' || substr(md5(i::text), 4, 15))::uuid,
    CASE WHEN i % 3 = 0 THEN 'weather_product_job' ELSE 'product_pipeline_job' END,
    CASE WHEN i % 20 = 0 THEN 'FAILURE' WHEN i % 97 = 0 THEN 'CANCELED' ELSE 'SUCCESS' END,
    '{"source_url": "https://example.invalid/posts", "timeout_seconds": 10}'::jsonb,
    jsonb_build_object('team', 'team' || (i % 10)),
    t, t + interval '1 second', t + interval '14 seconds', t + interval '14 seconds'
FROM generate_series(1, :runs) AS i,
     LATERAL (SELECT now() - interval '1 second' * (:runs - i) AS t) AS x;

INSERT INTO run_tags (run_id, key, value)
SELECT id, 'team', tags ->> 'team' FROM runs;

INSERT INTO events (run_id, ts, step_key, event_type, asset_key, payload)
SELECT r.id, r.created_at + interval '1 second' * n,
       CASE WHEN n BETWEEN 3 AND 8 THEN 'fetch_data' END,
       CASE n WHEN 1 THEN 'RUN_ENQUEUED' WHEN 2 THEN 'RUN_START' WHEN 3 THEN 'STEP_START'
              WHEN 10 THEN 'RUN_SUCCESS' ELSE 'LOG' END,
       NULL,
       CASE n WHEN 1 THEN '{"type": "RUN_ENQUEUED"}'::jsonb
              WHEN 2 THEN '{"type": "RUN_START"}'::jsonb
              WHEN 3 THEN '{"type": "STEP_START", "attempt": 1}'::jsonb
              WHEN 10 THEN '{"type": "RUN_SUCCESS"}'::jsonb
              ELSE jsonb_build_object('type', 'LOG', 'level', 'info', 'message', 'line ' || n) END
FROM runs r, generate_series(1, 10) AS n;

-- One run with 100 000 log lines (tag bench=big), the newest: its page must still open fast.
INSERT INTO runs (id, job, status, config, tags, created_at, started_at, ended_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7abc8'
          || substr(md5('big'), 1, 15))::uuid,
       'product_pipeline_job', 'SUCCESS', '{}'::jsonb, '{"bench": "big"}'::jsonb,
       t, t, t + interval '100 seconds', t + interval '100 seconds'
FROM (SELECT now() + interval '1 second' AS t) AS x;
INSERT INTO run_tags (run_id, key, value)
SELECT id, 'bench', 'big' FROM runs WHERE tags ->> 'bench' = 'big';
INSERT INTO events (run_id, ts, step_key, event_type, asset_key, payload)
SELECT r.id, r.created_at + interval '1 millisecond' * n, 'fetch_data', 'LOG', NULL,
       jsonb_build_object('type', 'LOG', 'level', 'info', 'message', 'log line ' || n)
FROM runs r, generate_series(1, 100000) AS n
WHERE r.tags ->> 'bench' = 'big';

ANALYZE;
