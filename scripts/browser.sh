#!/usr/bin/env bash
# Installs, idempotently, what the UI test in headless Chromium needs and prints `export` lines
# for it on stdout (use: `eval "$(scripts/browser.sh)"`; progress on stderr).
# scripts/test-services.sh calls it.
#
#   Chromium     Debian's `chromium` (and `chromium-driver`), installed with apt-get if missing.
#                No test tool ever downloads a browser of its own.
#   Node.js      the machine's `node`, or Debian's `nodejs` + `npm` if missing.
#   playwright-core  pinned by cli/tests/browser/package-lock.json, installed with `npm ci` into
#                $ORCH_BROWSER_DIR (default /var/tmp/orch-browser), outside the clone; reinstalled
#                only when the lock file changes.
#
# Exports: ORCH_CHROMIUM (the browser), ORCH_NODE (node), ORCH_BROWSER_NODE_PATH (NODE_PATH for
# the driver script cli/tests/browser/launch_run.cjs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ORCH_BROWSER_DIR:-/var/tmp/orch-browser}"
LOCK_FILE=/tmp/orch-browser.lock
log() { printf 'browser: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

exec 9>"$LOCK_FILE"
flock 9

apt_install() {
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
  local aptlog=/tmp/orch-browser-apt.log
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q "$@" >"$aptlog" 2>&1; then
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q "$@"; } >>"$aptlog" 2>&1 \
      || { tail -n 20 "$aptlog" >&2; die "apt-get install $* failed (log $aptlog)"; }
  fi
}

chromium_bin="$(command -v chromium || true)"
if [[ -z "$chromium_bin" ]]; then
  log "installing Debian's chromium and chromium-driver"
  apt_install chromium chromium-driver
  chromium_bin="$(command -v chromium)" || die "chromium not found after apt-get install"
fi

node_bin="$(command -v node || true)"
if [[ -z "$node_bin" ]]; then
  log "installing Debian's nodejs and npm"
  apt_install nodejs npm
  node_bin="$(command -v node)" || die "node not found after apt-get install"
fi

src="$root/cli/tests/browser"
mkdir -p "$DIR"
if ! cmp -s "$src/package-lock.json" "$DIR/package-lock.json" \
  || [[ ! -f "$DIR/node_modules/playwright-core/package.json" ]]; then
  log "installing playwright-core (npm ci) into $DIR"
  cp "$src/package.json" "$src/package-lock.json" "$DIR/"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) \
    || die "npm ci failed in $DIR"
fi

printf 'export ORCH_CHROMIUM=%q\n' "$chromium_bin"
printf 'export ORCH_NODE=%q\n' "$node_bin"
printf 'export ORCH_BROWSER_NODE_PATH=%q\n' "$DIR/node_modules"
