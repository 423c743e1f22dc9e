#!/usr/bin/env bash
# Installs what the tests need, then runs every test: Rust unit and integration tests on SQLite
# and on PostgreSQL, the wasm dependency check, and the Playwright suite in Chromium.
# Exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# coturn for the call that must go through TURN (meetings.spec.ts): its own port, a secret made
# for this run, stopped by its PID when the script ends.
start_coturn() {
  local port
  port="$(node -e "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  E2E_TURN_SECRET="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
  turn_log="$(mktemp)"
  turnserver -n --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 \
    --use-auth-secret --static-auth-secret="$E2E_TURN_SECRET" --realm=huddle.test --allow-loopback-peers \
    --no-cli --no-tls --no-dtls --min-port=49160 --max-port=49460 --log-file=stdout --simple-log >"$turn_log" 2>&1 &
  turn_pid=$!
  # `|| true`: under `set -e` a failing command in the trap would become the script's status
  # (wait reports the SIGTERM it was just sent: 143).
  trap 'kill "$turn_pid" 2>/dev/null || true; wait "$turn_pid" 2>/dev/null || true; rm -f "$turn_log"' EXIT
  export E2E_TURN_URL="turn:127.0.0.1:$port" E2E_TURN_SECRET
}

ensure_rust_tools
ensure_debian turnserver coturn
ensure_debian chromium chromium
ensure_debian npm nodejs npm
ensure_aiosmtpd
ensure_moto
# The cluster tests start a Redis of their own, on a port of their own, and HAProxy in front
# of their nodes.
ensure_debian redis-server redis-server
ensure_debian haproxy haproxy
ensure_debian psql postgresql-client
say "installing the pinned end-to-end packages"
(cd end2end && npm ci --no-audit --no-fund --loglevel=error)

say "Rust tests on SQLite"
cargo test -p app -p server

if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  say "Rust integration tests on PostgreSQL"
  # The same package set as above, so nothing is rebuilt; only the database changes.
  HUDDLE_TEST_DATABASE=postgres cargo test -p app -p server
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is expected at 127.0.0.1:5432 in CI but is unreachable" >&2
  exit 1
else
  say "PostgreSQL not reachable at 127.0.0.1:5432: skipping the PostgreSQL pass"
fi

say "checking the wasm dependency tree"
scripts/check-wasm-deps.sh

say "fuzzing every decoder of untrusted input, 30 s each"
scripts/fuzz.sh 30

build_site
start_coturn
say "Playwright suite (JavaScript on and off)"
cd end2end
# The server's stderr is part of Playwright's output: a panic there (a page cut off mid-render
# is a page that never comes alive) fails the run even when a retry passed the test.
e2e_log="$(mktemp)"
# cluster.spec.ts starts two nodes on the machine's PostgreSQL with a Redis of their own.
E2E_CLUSTER=1 HUDDLE_BIN="$ROOT/target/debug/huddle" HUDDLE_SITE_DIR="$SITE" npx playwright test 2>&1 | tee "$e2e_log"
node scripts/summary.mjs test-results/results.json
if grep -q "panicked at" "$e2e_log"; then
  echo "the server panicked during the browser suite (see its [WebServer] lines above)" >&2
  exit 1
fi
