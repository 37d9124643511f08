#!/usr/bin/env bash
# Alert benchmarks of issue 6 (figures go to BENCHMARKS.md), on PostgreSQL: an `orch daemon`
# whose ALERT_WEBHOOK_URL points at the Slack stand-in served by `alert-latency`:
#  1. failure → Slack latency (p50/p99) over spaced failures, at the default pace (1 message/s);
#  2. a burst of 1 000 failures: time until the last one reached the stand-in, in digests.
# Usage: bench/alerts.sh [latency-runs] [interval]   (default 200, 300ms). Needs the release build:
#   cargo build --release -p orch -p orch-bench
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
interval=${2:-300ms}
target=${CARGO_TARGET_DIR:-target}/release
orch=$target/orch
bench=$target/alert-latency
[ -x "$orch" ] && [ -x "$bench" ] || { echo "build first: cargo build --release -p orch -p orch-bench" >&2; exit 2; }
eval "$(scripts/test-services.sh)"
work=$(mktemp -d)
daemon_pid=
stop_daemon() { [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null; daemon_pid=; }
trap 'stop_daemon; rm -rf "$work"' EXIT

db=orch_bench_alerts_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $db"
export DATABASE_URL="${DATABASE_URL%/*}/$db?sslmode=disable"
export ORCH_HOME=$work/home
"$orch" migrate >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

run() {
  ALERT_WEBHOOK_URL="http://127.0.0.1:$port/services/TBENCH/BBENCH/secret" \
    ORCH_UI_URL=http://orch.example "$orch" daemon >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  sleep 1
  "$bench" "$DATABASE_URL" "127.0.0.1:$port" "$@"
  stop_daemon
}

echo "== alert benchmarks (release, $(nproc) cores, PostgreSQL)"
run latency "$n" "$interval"
run latency 100 1500ms
run burst 1000
psql "${DATABASE_URL%%/orch_bench_alerts_*}/postgres" -qc "DROP DATABASE $db WITH (FORCE)"
