#!/usr/bin/env bash
# The test command of orch: starts the services the tests need (scripts/test-services.sh:
# PostgreSQL, moto's S3 server) and runs the whole Rust test suite of the workspace with
# cargo-nextest if it is installed, else cargo test, then the Helm chart and Dockerfile tests
# (helm/tests/run.py, with the Python tools of scripts/py-tools.sh). Extra arguments go to the
# Rust test runner, e.g. `scripts/test.sh -E 'test(s3)'` (nextest) or `scripts/test.sh -- s3`
# (cargo test). Exits non-zero if any test fails. Works from any directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Assign first: a failure inside `eval "$(...)"` would not stop the script under set -e.
services_env="$(scripts/test-services.sh)"
eval "$services_env"

if [[ "${CI:-}" == true ]]; then
  export CARGO_TERM_COLOR=never
fi

# The Rust suite first; its exit code is kept while the chart tests run, and either failing
# fails the script.
rust_status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || rust_status=$?
else
  cargo test --workspace --no-fail-fast "$@" || rust_status=$?
fi

# The Helm chart and the Dockerfile (helm/tests): rendered and linted with the real Helm engine,
# validated against the Kubernetes schemas, the Dockerfile linted by hadolint. Seconds, no cluster.
chart_status=0
"$ORCH_PYTHON" helm/tests/run.py || chart_status=$?

if ((rust_status != 0)); then
  echo "scripts/test.sh: the Rust test suite failed (exit $rust_status)" >&2
fi
if ((chart_status != 0)); then
  echo "scripts/test.sh: the chart and image tests failed (exit $chart_status)" >&2
fi
if ((rust_status != 0)); then exit "$rust_status"; fi
exit "$chart_status"
