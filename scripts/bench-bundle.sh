#!/usr/bin/env bash
# Prints the browser bundle's sizes (raw and gzip -9), as served from target/site/pkg.
# Build it first (scripts/run.sh or: source scripts/lib.sh; build_site).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for f in huddle.wasm huddle.js huddle.css; do
  path="$SITE/pkg/$f"
  [ -f "$path" ] || { echo "missing $path: build the site first" >&2; exit 1; }
  printf '%-12s raw %8d B   gzip %8d B\n' "$f" "$(stat -c %s "$path")" "$(gzip -9c "$path" | wc -c)"
done
