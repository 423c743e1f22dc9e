#!/usr/bin/env bash
# The chat benchmark scenarios of docs/BENCHMARKS.md, against the release server on a fresh
# SQLite database. Each prints one JSON line (a ramp prints one per step); room100 and rooms10
# also run against server/examples/ref_broadcast.rs and print Huddle's figures as ratios to it,
# three rounds alternating the two, then the median of each ratio.
#   scripts/bench-chat.sh            # every scenario
#   scripts/bench-chat.sh idle       # one of: room100 rooms10 ramp idle signal cluster failover
# cluster runs rooms10's load on PostgreSQL: on one node, then over two nodes (Redis between
# them, HAProxy in front); failover kills one of two nodes under traffic and times its clients'
# way back. Neither is part of "every scenario".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ulimit -n "$(ulimit -Hn)" # 10,000 sockets on each side, plus the database and the listener
cargo build -q -p server --release --bin huddle --example bench_chat --example ref_broadcast
bench() { "$ROOT/target/release/examples/bench_chat" "$@" --bin "$ROOT/target/release/huddle"; }
run() {
  case "$1" in
    # Against Huddle, then the same load against the reference server that stores nothing;
    # three times, since one pair of runs on a shared 2-core machine moves 10-20 %.
    room100) bench load --rooms 1 --clients 100 --rate 1 --secs 20 --reference --rounds 3 ;;
    rooms10) bench load --rooms 10 --clients 50 --rate 2 --secs 20 --reference --rounds 3 ;;
    ramp) bench ramp --rooms 10 --clients 100 --secs 10 ;;
    idle) bench idle --sockets 10000 ;;
    signal) bench signal --meetings 250 --peers 4 --candidates 20 ;;
    cluster)
      ensure_debian haproxy haproxy
      ensure_debian redis-server redis-server
      ensure_debian psql postgresql-client
      bench cluster --rooms 10 --clients 50 --rate 2 --secs 20 ;;
    failover)
      ensure_debian haproxy haproxy
      ensure_debian redis-server redis-server
      ensure_debian psql postgresql-client
      bench failover --rooms 10 --clients 20 --rate 5 ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}
if [ $# -eq 0 ]; then set -- room100 rooms10 ramp idle signal; fi
for s in "$@"; do run "$s"; done
