#!/usr/bin/env bash
# Benchmarks of issue 3 (figures go to BENCHMARKS.md), on PostgreSQL with the local launcher:
#  1. `orch launch` → STARTED latency, one run at a time (p50/p99 from the event log);
#  2. throughput of product_pipeline_job runs (file:// source, local objects) through daemon +
#     worker processes, 200 queued at once, at concurrency 4 and 16;
#  3. schedule tick lateness (tick time → run created) with an every-second schedule;
#  4. daemon idle RSS and CPU over 10 s.
# Usage: bench/daemon.sh [latency-runs]   (default 100). Needs the release build:
#   cargo build --release -p orch -p orch-bench
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
target=${CARGO_TARGET_DIR:-target}/release
orch=$target/orch
runs=$target/daemon-runs
[ -x "$orch" ] && [ -x "$runs" ] || { echo "build first: cargo build --release -p orch -p orch-bench" >&2; exit 2; }
eval "$(scripts/test-services.sh)"
work=$(mktemp -d)
daemon_pid=
stop_daemon() { [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null; daemon_pid=; }
trap 'stop_daemon; rm -rf "$work"' EXIT

db=orch_bench_daemon_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $db"
# Loopback needs no TLS; with it each worker process start pays this server's ~190 ms handshake.
export DATABASE_URL="${DATABASE_URL%/*}/$db?sslmode=disable"
export ORCH_HOME=$work/home
source="file://$PWD/pipelines/samples/posts.json"
"$orch" migrate >/dev/null

start_daemon() {
  env "$@" "$orch" daemon >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  sleep 1
}

echo "== daemon benchmarks (release, $(nproc) cores, PostgreSQL, local launcher)"
start_daemon ORCH_MAX_CONCURRENT_RUNS=4
"$runs" "$DATABASE_URL" latency "$n" "$source"
"$runs" "$DATABASE_URL" burst 200 "$source"
stop_daemon
start_daemon ORCH_MAX_CONCURRENT_RUNS=16
"$runs" "$DATABASE_URL" burst 200 "$source"

# Idle: no queued runs, no schedules on.
sleep 5
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status")
cpu0=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
sleep 10
cpu1=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
tck=$(getconf CLK_TCK)
python3 -c "print(f'daemon idle: RSS {$rss_kb/1024:.1f} MB, CPU {($cpu1-$cpu0)/$tck*1000/10:.1f} ms per second over 10 s')"
stop_daemon

# Tick lateness: an every-second schedule for 30 s.
cat >"$work/orch.toml" <<TOML
[schedules.bench_every_second]
job = "product_pipeline_job"
cron = "* * * * * *"
config = { source_url = "$source" }
TOML
start_daemon ORCH_CONFIG="$work/orch.toml" ORCH_MAX_CONCURRENT_RUNS=16
sleep 30
stop_daemon
"$runs" "$DATABASE_URL" ticks
# Let the last runs finish, then drop the database.
sleep 3
psql "${DATABASE_URL%%/orch_bench_daemon_*}/postgres" -qc "DROP DATABASE $db WITH (FORCE)"
