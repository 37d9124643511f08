#!/usr/bin/env bash
# Brings up, idempotently, the services the orch test suite needs and prints `export` lines for
# them on stdout (use: `eval "$(scripts/test-services.sh)"`); all progress goes to stderr.
#
#   PostgreSQL  reuses a server answering on 127.0.0.1:5432 (trust auth, user postgres); otherwise
#               installs Debian's postgresql if needed and starts a throwaway cluster in
#               $ORCH_PG_DIR (default /tmp/orch-pg) on 127.0.0.1, port 5432 or 55432, reusing it on
#               later runs.
#   S3 API      moto's server (PyPI `moto[server]`, installed if missing) on 127.0.0.1:5010,
#               in the background (log /tmp/orch-moto.log, pid /tmp/orch-moto.pid), unless
#               something already answers there.
#
#   Browser     Debian's chromium + playwright-core from npm (scripts/browser.sh).
#   Python      helm-python-sdk and kubernetes-validate in a virtualenv (scripts/py-tools.sh).
#
# Exports: ORCH_CHROMIUM, ORCH_NODE, ORCH_BROWSER_NODE_PATH, ORCH_PYTHON, ORCH_KUBERNETES_VALIDATE, DATABASE_URL, ORCH_TEST_S3_ENDPOINT, ORCH_TEST_MOTO_SERVER, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION.
#
# Knobs: ORCH_PG_FORCE_LOCAL=1 ignores a server on 5432 and uses the script's own cluster (to test
# the fresh-machine path); ORCH_PG_DIR; ORCH_MOTO_PORT (default 5010; another port gets its own
# /tmp/orch-moto-PORT.{log,pid}).
# `scripts/test-services.sh stop` stops what this script started (its own cluster and moto), and
# nothing else. Only package registries (apt, PyPI) and loopback are contacted.
set -euo pipefail

PG_DIR="${ORCH_PG_DIR:-/tmp/orch-pg}"
PG_PORTS=(5432 55432)
MOTO_PORT="${ORCH_MOTO_PORT:-5010}"
moto_suffix=""
[[ "$MOTO_PORT" == 5010 ]] || moto_suffix="-$MOTO_PORT"
MOTO_LOG="/tmp/orch-moto$moto_suffix.log"
MOTO_PID="/tmp/orch-moto$moto_suffix.pid"
LOCK_FILE=/tmp/orch-test-services.lock

log() { printf 'test-services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# True if something accepts TCP connections on 127.0.0.1:$1.
tcp_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# True if a PostgreSQL server accepts connections on 127.0.0.1:$1 ($2: pg_isready to use, optional).
pg_ready() {
  local port="$1" isready="${2:-}"
  [[ -n "$isready" ]] || isready="$(command -v pg_isready || true)"
  if [[ -n "$isready" ]]; then
    "$isready" -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1
  else
    tcp_open "$port"
  fi
}

# Directory with initdb/pg_ctl of the newest installed PostgreSQL, or empty.
pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]] && printf '%s\n' "$d"
  return 0
}

as_postgres() { runuser -u postgres -- "$@"; }

# Prints the DATABASE_URL of a usable PostgreSQL, starting a throwaway cluster if needed.
pg_bootstrap() {
  if [[ "${ORCH_PG_FORCE_LOCAL:-0}" != 1 ]] && pg_ready 5432; then
    log "PostgreSQL: using the server on 127.0.0.1:5432"
    printf 'postgres://postgres@127.0.0.1:5432/postgres\n'
    return 0
  fi

  local data="$PG_DIR/data" port_file="$PG_DIR/port" bindir port=""
  # Fast path: our own cluster, already running.
  if [[ -f "$data/postmaster.pid" && -f "$port_file" ]]; then
    port="$(<"$port_file")"
    bindir="$(pg_bindir)"
    if [[ -n "$bindir" ]] && pg_ready "$port" "$bindir/pg_isready"; then
      log "PostgreSQL: reusing own cluster in $PG_DIR on 127.0.0.1:$port"
      printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$port"
      return 0
    fi
  fi

  bindir="$(pg_bindir)"
  if [[ -z "$bindir" ]]; then
    log "PostgreSQL: no server binaries; installing Debian's postgresql"
    [[ "$(id -u)" == 0 ]] || die "installing postgresql needs root"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir="$(pg_bindir)"
    [[ -n "$bindir" ]] || die "no initdb under /usr/lib/postgresql/*/bin after installing postgresql"
  fi
  id postgres >/dev/null 2>&1 || die "no 'postgres' user (expected from Debian's postgresql package)"

  mkdir -p "$PG_DIR"
  chown postgres: "$PG_DIR"
  chmod 700 "$PG_DIR"

  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "PostgreSQL: initdb in $data"
    rm -rf "$data"
    as_postgres "$bindir/initdb" -A trust -U postgres -E UTF8 --no-locale -D "$data" \
      >"$PG_DIR/initdb.log" 2>&1 </dev/null \
      || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi

  # Reuse the port it had, if still free; otherwise the first free one of PG_PORTS.
  port=""
  if [[ -f "$port_file" ]] && ! tcp_open "$(<"$port_file")"; then
    port="$(<"$port_file")"
  else
    local p
    for p in "${PG_PORTS[@]}"; do
      if ! tcp_open "$p"; then port="$p"; break; fi
    done
  fi
  [[ -n "$port" ]] || die "none of the ports ${PG_PORTS[*]} is free for a local PostgreSQL"

  log "PostgreSQL: starting own cluster in $PG_DIR on 127.0.0.1:$port (log $PG_DIR/postgres.log)"
  # The socket goes into $PG_DIR: /run/postgresql may not exist on a fresh machine. fd 9 (the
  # lock) is closed so the postmaster does not hold it.
  as_postgres "$bindir/pg_ctl" -D "$data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $PG_DIR" start </dev/null >&2 9>&- \
    || { tail -n 20 "$PG_DIR/postgres.log" >&2 || true; die "pg_ctl start failed"; }
  printf '%s\n' "$port" >"$port_file"

  local i
  for ((i = 0; i < 60; i++)); do
    pg_ready "$port" "$bindir/pg_isready" && break
    sleep 0.5
  done
  pg_ready "$port" "$bindir/pg_isready" || die "PostgreSQL on 127.0.0.1:$port did not become ready"
  printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$port"
}

pg_stop() {
  local bindir
  bindir="$(pg_bindir)"
  if [[ -n "$bindir" && -f "$PG_DIR/data/postmaster.pid" ]]; then
    log "PostgreSQL: stopping own cluster in $PG_DIR"
    as_postgres "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w stop </dev/null >&2 || true
  fi
}

http_answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null; }

# Absolute path of moto_server for the python3 on PATH, or empty.
find_moto() {
  local d c dirs=()
  # One python3 start (through a pyenv shim each costs ~0.2 s): its scripts dir and pip --user's.
  mapfile -t dirs < <(python3 -c 'import site, sysconfig
print(sysconfig.get_path("scripts")); print(site.getuserbase() + "/bin")' 2>/dev/null || true)
  for d in "${dirs[@]}"; do
    [[ -n "$d" && -x "$d/moto_server" ]] && { printf '%s\n' "$d/moto_server"; return 0; }
  done
  # Anything else on PATH (pipx, a venv); a pyenv shim only if it actually runs.
  c="$(command -v moto_server || true)"
  if [[ -n "$c" ]] && "$c" --help >/dev/null 2>&1; then
    readlink -f "$c"
  fi
  return 0
}

# Prints the absolute path of moto_server, installing moto[server] from PyPI if needed.
moto_binary() {
  local bin
  bin="$(find_moto)"
  if [[ -z "$bin" ]]; then
    log "S3: installing moto[server] from PyPI"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'moto[server]' >&2 \
      || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
           --break-system-packages 'moto[server]' >&2
    bin="$(find_moto)"
    [[ -n "$bin" ]] || die "moto_server not found after pip install 'moto[server]'"
  fi
  printf '%s\n' "$bin"
}

# Ensures moto answers on 127.0.0.1:$MOTO_PORT; $1 is the moto_server binary.
moto_up() {
  local bin="$1" pid="" i
  if http_answers "$MOTO_PORT"; then
    log "S3: something already answers on 127.0.0.1:$MOTO_PORT; using it"
    return 0
  fi
  [[ -f "$MOTO_PID" ]] && pid="$(<"$MOTO_PID")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -qa moto "/proc/$pid/cmdline" 2>/dev/null; then
    log "S3: moto (pid $pid) is starting; waiting for it"
  else
    log "S3: starting $bin -H 127.0.0.1 -p $MOTO_PORT (log $MOTO_LOG)"
    # Detached, with no fd on our stdout (or `$(...)` of this script would wait for it) nor on the
    # lock (fd 9, or the next run would block).
    setsid nohup "$bin" -H 127.0.0.1 -p "$MOTO_PORT" </dev/null >"$MOTO_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$MOTO_PID"
  fi
  for ((i = 0; i < 120; i++)); do
    http_answers "$MOTO_PORT" && { log "S3: moto is up (pid $pid)"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  tail -n 20 "$MOTO_LOG" >&2 || true
  die "moto exited or did not answer on 127.0.0.1:$MOTO_PORT within 30 s (log $MOTO_LOG)"
}

moto_stop() {
  local pid
  [[ -f "$MOTO_PID" ]] || return 0
  pid="$(<"$MOTO_PID")"
  if kill -0 "$pid" 2>/dev/null && grep -qa moto "/proc/$pid/cmdline" 2>/dev/null; then
    log "S3: stopping moto (pid $pid)"
    kill "$pid" || true
  fi
  rm -f "$MOTO_PID"
}

main() {
  # One run at a time (parallel callers would otherwise race to start the same services).
  exec 9>"$LOCK_FILE"
  flock 9

  if [[ "${1:-}" == stop ]]; then
    moto_stop
    pg_stop
    return 0
  fi
  [[ $# -eq 0 ]] || die "usage: $0 [stop]"

  local db_url moto_bin
  db_url="$(pg_bootstrap)"
  moto_bin="$(moto_binary)"
  moto_up "$moto_bin"

  printf "export DATABASE_URL='%s'\n" "$db_url"
  printf "export ORCH_TEST_S3_ENDPOINT='http://127.0.0.1:%s'\n" "$MOTO_PORT"
  printf "export ORCH_TEST_MOTO_SERVER='%s'\n" "$moto_bin"
  printf "export AWS_ACCESS_KEY_ID='testing'\n"
  printf "export AWS_SECRET_ACCESS_KEY='testing'\n"
  printf "export AWS_REGION='us-east-1'\n"
  # Python tools (Helm engine, Kubernetes schemas) in their own virtualenv.
  "$(dirname "${BASH_SOURCE[0]}")/py-tools.sh"
  # Headless Chromium and playwright-core for the UI test.
  "$(dirname "${BASH_SOURCE[0]}")/browser.sh"
}

# Run main unless sourced (sourcing gives the functions, e.g. pg_bootstrap, for testing).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
