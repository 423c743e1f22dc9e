#!/usr/bin/env bash
# Installs what is missing, builds a release, and serves Huddle on http://127.0.0.1:3000 with
# SQLite under ./data (override with the variables in the README).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_rust_tools
build_site
say "building the server (release)"
cargo build -p server --release
say "starting Huddle"
exec "$ROOT/target/release/huddle"
