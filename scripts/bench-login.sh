#!/usr/bin/env bash
# Login latency against the release server on SQLite: N successful logins, then N wrong-password
# and N unknown-user attempts, each from its own loopback address and against its own account so
# that throttling stays out of the way. Prints one JSON line of milliseconds.
# Needs target/release/huddle (scripts/run.sh builds it), curl and node.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-30}"
BIN="$ROOT/target/release/huddle"
[ -x "$BIN" ] || { echo "build the release server first: cargo build -p server --release" >&2; exit 1; }

start_server "$BIN"

post() { # source-address login password -> seconds
  curl -s -o /dev/null -w '%{time_total}\n' --interface "$1" -H "Origin: $base" \
    --data-urlencode "login=$2" --data-urlencode "password=$3" "$base/api/login"
}
register() {
  curl -sf -o /dev/null -H "Origin: $base" \
    -d "name=Bench&username=$1&email=$1@example.org&password=violet-otter-harbour-42" "$base/api/register"
}
register bench
# One account per wrong-password attempt: five failures on one account would throttle it.
for i in $(seq "$N"); do register "bench$i"; done

ok=(); wrong=(); unknown=()
for i in $(seq "$N"); do ok+=("$(post 127.0.0.1 bench violet-otter-harbour-42)"); done
for i in $(seq "$N"); do wrong+=("$(post "127.0.1.$i" "bench$i" wrong-password-$i)"); done
for i in $(seq "$N"); do unknown+=("$(post "127.0.2.$i" "nobody$i" wrong-password-$i)"); done

stats() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 * 1000 } END {
  printf "{\"p50\":%.1f,\"p95\":%.1f,\"max\":%.1f}", a[int((NR + 1) * 0.5)], a[int(NR * 0.95 + 0.5)], a[NR] }'; }
printf '{"runs":%d,"login_ok_ms":%s,"wrong_password_ms":%s,"unknown_user_ms":%s}\n' \
  "$N" "$(stats "${ok[@]}")" "$(stats "${wrong[@]}")" "$(stats "${unknown[@]}")"
