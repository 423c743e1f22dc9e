#!/usr/bin/env bash
# Fails if a server-only crate reaches the browser bundle's dependency tree.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
tree="$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none)"
leaked="$(grep -E '^(sqlx|sqlx-[a-z-]+|tokio|axum|argon2|jsonwebtoken|zxcvbn|leptos_axum|hyper|mio) v' <<<"$tree" | sort -u || true)"
if [ -n "$leaked" ]; then
  echo "server-only crates in the wasm dependency tree:" >&2
  echo "$leaked" >&2
  exit 1
fi
echo "wasm dependency tree: $(sort -u <<<"$tree" | wc -l) crates, no server-only crate"
