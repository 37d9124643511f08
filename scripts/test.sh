#!/usr/bin/env bash
# The test command of orch: starts the services the tests need (scripts/test-services.sh:
# PostgreSQL, moto's S3 server) and runs the whole Rust test suite of the workspace with
# cargo-nextest if it is installed, else cargo test. Extra arguments go to the test runner,
# e.g. `scripts/test.sh -E 'test(s3)'` (nextest) or `scripts/test.sh -- s3` (cargo test).
# Exits non-zero if any test fails. Works from any directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Assign first: a failure inside `eval "$(...)"` would not stop the script under set -e.
services_env="$(scripts/test-services.sh)"
eval "$services_env"

if [[ "${CI:-}" == true ]]; then
  export CARGO_TERM_COLOR=never
fi

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  exec cargo test --workspace --no-fail-fast "$@"
fi
