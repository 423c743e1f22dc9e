#!/usr/bin/env bash
# Prints the browser bundle's sizes (raw, and the gzip -9 and brotli -q 11 copies), as served from
# target/site/pkg: the main module, the loader of the lazily loaded pages, each page's module and
# the chunks pages share. Build it first (scripts/run.sh or: source scripts/lib.sh; build_site).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -f "$SITE/bundle.txt" ] || { echo "missing $SITE/bundle.txt: build the site first" >&2; exit 1; }
total=(0 0 0)
for path in "$SITE"/pkg/*.wasm "$SITE"/pkg/*.js "$SITE"/pkg/*.css; do
  # The sizes of the files the server sends: build_site wrote them beside each one.
  raw="$(stat -c %s "$path")" gz="$(stat -c %s "$path.gz")" br="$(stat -c %s "$path.br")"
  printf '%-48s raw %8d B   gzip %7d B   brotli %7d B\n' "$(basename "$path")" "$raw" "$gz" "$br"
  total=($((total[0] + raw)) $((total[1] + gz)) $((total[2] + br)))
done
printf '%-48s raw %8d B   gzip %7d B   brotli %7d B\n' "all of it" "${total[@]}"
