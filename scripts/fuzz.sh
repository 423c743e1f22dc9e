#!/usr/bin/env bash
# Runs every fuzz target in app/fuzz for SECONDS each (default 30) with cargo fuzz (libFuzzer)
# and prints one line per target with its executions per second. Fails on any crash or hang.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
seconds="${1:-30}"
shift || true
CARGO_FUZZ_VERSION=0.13.2
if [ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools (about 2 minutes, once)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" --force
fi
# cargo fuzz passes nightly-only flags (-Z sanitizer, coverage): the stable toolchain accepts
# them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir app/fuzz)
fi
say "building ${#targets[@]} fuzz targets"
cargo fuzz build --fuzz-dir app/fuzz --target-dir "$ROOT/target/fuzz" >/dev/null
for t in "${targets[@]}"; do
  corpus="app/fuzz/corpus/$t"
  mkdir -p "$corpus"
  log="$(mktemp)"
  if ! cargo fuzz run --fuzz-dir app/fuzz --target-dir "$ROOT/target/fuzz" "$t" "$corpus" -- \
      -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz $t: FAILED (the crashing input is under app/fuzz/artifacts/$t)" >&2
    exit 1
  fi
  runs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log")"
  rate="$(awk '/exec\/s:/ {for (i = 1; i <= NF; i++) if ($i == "exec/s:") r = $(i + 1)} END {print r}' "$log")"
  echo "fuzz $t: ${seconds}s, ${runs:-?} runs, ${rate:-?} exec/s, no crash, no hang"
  rm -f "$log"
done
