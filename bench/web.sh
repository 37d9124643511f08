#!/usr/bin/env bash
# Web UI and API benchmark at scale (issue 4's figures: HTML pages and JSON API; also the check of issue 2's "list queries stay
# fast at millions of runs"): seeds PostgreSQL with 1 M runs and 10 M events (bench/seed.sql),
# serves it with `orch web` (release) and times API requests from a keep-alive client on
# loopback (so the figures include the client's share, an upper bound of the server's).
# Usage: bench/web.sh [runs] [requests]   (default 1000000, 200). Needs the release build:
#   cargo build --release -p orch
# Set BENCH_DB to reuse an already seeded database (it is then kept).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
requests=${2:-200}
orch=${CARGO_TARGET_DIR:-target}/release/orch
[ -x "$orch" ] || { echo "build first: cargo build --release -p orch" >&2; exit 2; }
eval "$(scripts/test-services.sh)"
base=${DATABASE_URL%/*}
db=${BENCH_DB:-orch_bench_web_$$}
if [ -z "${BENCH_DB:-}" ]; then
  psql "$base/postgres" -qc "CREATE DATABASE $db"
  DATABASE_URL="$base/$db?sslmode=disable" "$orch" migrate >/dev/null
  echo "seeding $runs runs and $((runs * 10)) events..."
  psql "$base/$db" -q -v runs="$runs" -f bench/seed.sql
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="$base/$db?sslmode=disable" ORCH_HOME=$work ORCH_WEB_ADDR=127.0.0.1:$port \
  "$orch" web >"$work/web.log" 2>&1 &
web_pid=$!
cleanup() {
  kill "$web_pid" 2>/dev/null || true
  [ -z "${BENCH_DB:-}" ] && psql "$base/postgres" -qc "DROP DATABASE $db WITH (FORCE)"
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
sleep 2
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$web_pid/status")
echo "web idle RSS: $((rss_kb / 1024)) MB"
python3 - "$port" "$requests" <<'PY'
import http.client, json, statistics, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port)
def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
    return json.loads(body) if path.startswith("/api/") else body
first = get("/api/v1/runs?limit=50")["runs"]
# A deep page: walk the cursor 200 pages of 500 down (100 000 runs back), then page from there.
cursor = first[-1]["id"]
for _ in range(200):
    cursor = get(f"/api/v1/runs?limit=500&before={cursor}")["runs"][-1]["id"]
big = get("/api/v1/runs?limit=1&tag=bench%3Dbig")["runs"][0]["id"]
run = [r for r in first if r["id"] != big][0]["id"]
cases = {
    "runs, first page (50)": "/api/v1/runs?limit=50",
    "runs, deep page (100 000 back)": f"/api/v1/runs?limit=50&before={cursor}",
    "runs, status=FAILURE": "/api/v1/runs?limit=50&status=FAILURE",
    "runs, tag team=team3": "/api/v1/runs?limit=50&tag=team%3Dteam3",
    "runs, job filter": "/api/v1/runs?limit=50&job=weather_product_job",
    "run detail": f"/api/v1/runs/{run}",
    "run events (page)": f"/api/v1/runs/{run}/events?limit=100",
    "HTML runs page, first page": "/runs",
    "HTML runs page, deep page (100 000 back)": f"/runs?before={cursor}",
    "HTML runs page, status=FAILURE": "/runs?status=FAILURE",
    "HTML run detail page": f"/runs/{run}",
    "HTML run detail page, 100 000 log lines": f"/runs/{big}",
    "run events (page), 100 000 log lines": f"/api/v1/runs/{big}/events?limit=100",
}
for label, path in cases.items():
    for _ in range(10):
        get(path)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        get(path)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label}: p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms")
PY
