#!/usr/bin/env bash
# Installs what the tests need, then runs every test: Rust unit and integration tests on SQLite
# and on PostgreSQL, the wasm dependency check, and the Playwright suite in Chromium.
# Exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_chromium() {
  if [ ! -x /usr/lib/chromium/chromium ]; then
    say "installing Chromium from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

ensure_node() {
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
}

ensure_rust_tools
ensure_chromium
ensure_node
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
say "Playwright suite (JavaScript on and off)"
cd end2end
HUDDLE_BIN="$ROOT/target/debug/huddle" HUDDLE_SITE_DIR="$SITE" npx playwright test
node scripts/summary.mjs test-results/results.json
