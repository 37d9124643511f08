#!/usr/bin/env bash
# Issue 11's comparison (BENCHMARKS.md): the Python Pipes product job, the same three scripts,
# run by `orch run py_product_job` (release build) and by Dagster 1.13's `dagster job execute`
# through PipesSubprocessClient (bench/dagster/py_product_definitions.py), each on its embedded
# default (orch: SQLite + local files; Dagster: a temporary DAGSTER_HOME), against the sample
# posts served on loopback. Wall time of the whole command, median of N.
# Usage: bench/dagster.sh [N]   (default 5). Installs Dagster into /var/tmp/dagster-venv once.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
target=${CARGO_TARGET_DIR:-target}/release
orch=$(realpath "$target/orch")
venv=/var/tmp/dagster-venv
[ -x "$venv/bin/dagster" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'dagster==1.13.*' dagster-pipes; }
work=$(mktemp -d)
trap 'kill $http_pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory pipelines/samples >/dev/null 2>&1 &
http_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/posts.json" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/posts.json"
# The scripts' python3 is the venv's (dagster-pipes) for both.
export PATH="$venv/bin:$PATH" BENCH_SOURCE_URL=$url BENCH_WORK=$work/dagster-io
time_it() {
  local label=$1; shift
  : >"$work/t"
  for _ in $(seq "$n"); do
    /usr/bin/time -f "%e" -a -o "$work/t" "$@" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  done
  python3 - "$label" "$work/t" <<'PY'
import sys, statistics
t = [float(l) for l in open(sys.argv[2]) if l.strip() and l[0].isdigit()]
print(f"{sys.argv[1]}: median {statistics.median(t):.2f} s, min {min(t):.2f} s over {len(t)}")
PY
}
ORCH_HOME=$work/orch ORCH_JOBS_DIR=examples/python-product-job \
  time_it "orch run py_product_job" "$orch" run py_product_job --config "source_url=$url"
mkdir -p "$work/dagster-home"
DAGSTER_HOME=$work/dagster-home ORCH_HOME=$work/dagster-objects \
  time_it "dagster job execute py_product_job" "$venv/bin/dagster" job execute \
  -f bench/dagster/py_product_definitions.py -j py_product_job
