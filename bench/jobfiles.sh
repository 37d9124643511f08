#!/usr/bin/env bash
# Issue 11's scale figures for job files (BENCHMARKS.md, "Issue 11"): a generated job file of
# N `true` command assets (layers of 50), and
#  1. loading it in process (`jobfile-scale load`: read, parse, validate, build, merge);
#  2. `orch jobs validate` of it, whole process (start to exit);
#  3. `orch run wide_job` on the embedded default: wall time and peak RSS (the worker runs in
#     that process, so its peak RSS is the worker's memory);
#  4. the job page (`GET /jobs/wide_job`, with its asset graph) served by `orch web`: p50/p99
#     of sequential requests (curl's time_total).
# Usage: bench/jobfiles.sh [assets] [page-requests]   (default 1000, 200). Needs the release
# build: cargo build --release -p orch -p orch-bench
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
requests=${2:-200}
target=${CARGO_TARGET_DIR:-target}/release
orch=$(realpath "$target/orch")
scale=$(realpath "$target/jobfile-scale")
[ -x "$orch" ] && [ -x "$scale" ] || { echo "build first: cargo build --release -p orch -p orch-bench" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $web_pid 2>/dev/null || true; rm -rf "$work"' EXIT
web_pid=

"$scale" generate "$work/jobs" "$n" >/dev/null
"$scale" load "$work/jobs" 50

export ORCH_HOME=$work/home ORCH_JOBS_DIR=$work/jobs PRODUCT_API_URL=http://127.0.0.1:9/posts
/usr/bin/time -f "orch jobs validate: %e s wall, %M KB peak RSS" "$orch" jobs validate >/dev/null
for i in 1 2 3; do
  /usr/bin/time -f "orch run wide_job ($n true commands), try $i: %e s wall, %M KB peak RSS" \
    "$orch" run wide_job >/dev/null
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ORCH_WEB_ADDR=127.0.0.1:$port "$orch" web >"$work/web.log" 2>&1 &
web_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/jobs/wide_job"
curl -sf -o /dev/null "$url"
for _ in $(seq "$requests"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done >"$work/page"
python3 - "$work/page" "$(curl -s "$url" | wc -c)" <<'PY'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[1]) if l.strip())
q = lambda p: t[round((len(t) - 1) * p)]
print(f"GET /jobs/wide_job ({int(sys.argv[2]) // 1024} KiB): p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms over {len(t)}")
PY
