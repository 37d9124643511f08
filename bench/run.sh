#!/usr/bin/env bash
# Benchmarks of issue 2 (figures go to BENCHMARKS.md):
#  1. whole-process wall time and peak RSS of `orch run product_pipeline_job` (release build,
#     upstream served on loopback), on the embedded default and on PostgreSQL + S3 (moto);
#  2. orchestration overhead: `noop-runs`, a 3-asset no-op job run repeatedly in one process,
#     on PostgreSQL and on SQLite.
# Usage: bench/run.sh [iterations]   (default 30). Needs the release build:
#   cargo build --release -p orch -p orch-bench
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-30}
target=${CARGO_TARGET_DIR:-target}/release
orch=$target/orch
noop=$target/noop-runs
[ -x "$orch" ] && [ -x "$noop" ] || { echo "build first: cargo build --release -p orch -p orch-bench" >&2; exit 2; }
eval "$(scripts/test-services.sh)"
work=$(mktemp -d)
trap 'kill $http_pid 2>/dev/null; rm -rf "$work"' EXIT

# The upstream API: the repo's sample posts over HTTP on loopback.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory pipelines/samples >/dev/null 2>&1 &
http_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/posts.json" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/posts.json"

# Runs `orch run` n times with the given env; prints median and p90 wall ms and max peak RSS MB.
measure() {
  local label=$1; shift
  local times=$work/times
  : >"$times"
  for _ in $(seq "$n"); do
    env "$@" /usr/bin/time -f "%e %M" -a -o "$times" "$orch" run product_pipeline_job \
      --config "source_url=$url" >/dev/null
  done
  python3 - "$label" "$times" <<'PY'
import sys, statistics
label, path = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(path) if l.strip() and not l.startswith("Command")]
wall = sorted(float(w) * 1000 for w, _ in rows)
rss = max(int(m) for _, m in rows) / 1024
p90 = wall[int(len(wall) * 0.9) - 1]
print(f"{label}: {len(wall)} runs, wall median {statistics.median(wall):.0f} ms, p90 {p90:.0f} ms, peak RSS max {rss:.1f} MB")
PY
}

echo "== orch run product_pipeline_job (release, $(nproc) cores)"
home=$work/home-sqlite
"$orch" --orch-home "$home" migrate >/dev/null
measure "embedded (SQLite + local files)" -u DATABASE_URL ORCH_HOME="$home"

db=orch_bench_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $db"
# Loopback needs no TLS; with it this server's handshake adds ~190 ms to every process start.
pg_url="${DATABASE_URL%/*}/$db?sslmode=disable"
bucket=orch-bench-$$
curl -sf -X PUT "$ORCH_TEST_S3_ENDPOINT/$bucket" >/dev/null
ORCH_HOME=$work/home-pg DATABASE_URL=$pg_url "$orch" migrate >/dev/null
measure "PostgreSQL + S3 (moto)" ORCH_HOME="$work/home-pg" DATABASE_URL="$pg_url" \
  S3_BUCKET_NAME="$bucket" AWS_ENDPOINT_URL="$ORCH_TEST_S3_ENDPOINT"

echo "== orchestration overhead: 3-asset no-op job, sequential runs in one process"
noop_db=orch_bench_noop_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $noop_db"
noop_url="${DATABASE_URL%/*}/$noop_db?sslmode=disable"
echo -n "PostgreSQL, step outputs on disk ($work):  "; "$noop" "$noop_url" 2000 "$work"
echo -n "PostgreSQL, step outputs on tmpfs (/dev/shm): "; "$noop" "$noop_url" 2000 /dev/shm
echo -n "SQLite on disk, step outputs on disk:        "; "$noop" "sqlite://$work/noop.db" 2000 "$work"
echo -n "SQLite and step outputs on tmpfs:            "; "$noop" "sqlite:///dev/shm/orch-bench-$$.db" 2000 /dev/shm
rm -f /dev/shm/orch-bench-$$.db*
psql "$DATABASE_URL" -qc "DROP DATABASE $db" -c "DROP DATABASE $noop_db"
