#!/usr/bin/env bash
# Three Huddle nodes behind HAProxy, for trying several nodes on one machine: a PostgreSQL
# database of their own (on the local server at 127.0.0.1:5432), a Redis of their own on its
# own port, HAProxy from Debian on http://127.0.0.1:${HUDDLE_CLUSTER_PORT:-8080}. Everything
# listens on loopback; Ctrl-C stops what this script started, by PID.
#
#   scripts/cluster.sh            build a release, start, and wait for Ctrl-C
#   kill -9 <a node's PID>        (printed below) and watch its users move to the others
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="${HUDDLE_CLUSTER_PORT:-8080}"
PG="${HUDDLE_CLUSTER_PG:-postgres://postgres@127.0.0.1:5432}"
DB="huddle_cluster"

ensure_rust_tools
ensure_debian haproxy haproxy
ensure_debian redis-server redis-server
ensure_debian psql postgresql-client
build_site
say "building the server (release)"
cargo build -p server --release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

psql "$PG/postgres" -qc "create database $DB" 2>/dev/null || true
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
secret="$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"

servers=""
for i in 1 2 3; do
  port="$(free_port)"
  mkdir -p "$work/node$i"
  HUDDLE_ADDR="127.0.0.1:$port" DATABASE_URL="$PG/$DB" HUDDLE_REDIS_URL="redis://127.0.0.1:$redis_port" \
    HUDDLE_JWT_SECRET="$secret" HUDDLE_DATA_DIR="$work/node$i" HUDDLE_SITE_DIR="$SITE" \
    HUDDLE_TRUSTED_PROXIES=127.0.0.1 HUDDLE_ORIGINS="http://127.0.0.1:$PORT" \
    "$ROOT/target/release/huddle" >"$work/node$i.log" 2>&1 &
  pids+=($!)
  say "node $i: PID $! on 127.0.0.1:$port (log $work/node$i.log)"
  servers+="    server node$i 127.0.0.1:$port check"$'\n'
done

# The checked config of docs/deploy, with this script's port and nodes, and a connection limit
# that fits this shell's open-file limit (HAProxy needs two descriptors per connection).
maxconn=$(( $(ulimit -n) / 2 - 100 ))
sed -e "s/bind 127.0.0.1:8080/bind 127.0.0.1:$PORT/" -e '/^    server node1 /d' -e "s/maxconn 20000/maxconn $maxconn/" \
  docs/deploy/haproxy.cfg >"$work/haproxy.cfg"
printf '%s' "$servers" >>"$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")

say "Huddle on http://127.0.0.1:$PORT (three nodes, Redis on $redis_port, database $DB, kept between runs); Ctrl-C stops it"
# Until Ctrl-C, or until Redis or HAProxy ends by itself. A node may die without stopping the
# rest: kill -9 one and watch its users move to the others.
wait -n "$redis_pid" "$haproxy_pid"
