#!/usr/bin/env bash
# Join to first remote video frame, in calls of 2 and 4 people (median of RUNS joins, default
# 10), against the release server on SQLite, in Debian's Chromium with fake camera and microphone.
# Prints one JSON line per call size. Needs target/release/huddle and the site (scripts/run.sh
# builds both) and the end-to-end packages (scripts/test.sh installs them).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BIN="${HUDDLE_BIN:-$ROOT/target/release/huddle}"
[ -x "$BIN" ] || { echo "build the release server first: cargo build -p server --release" >&2; exit 1; }
[ -f "$SITE/bundle.txt" ] || { echo "build the site first: source scripts/lib.sh; build_site" >&2; exit 1; }
start_server "$BIN"
cd "$ROOT/end2end"
BASE="$base" RUNS="${RUNS:-10}" SIZES="${SIZES:-2,4}" node scripts/bench-join.mjs
