# Shared by the project scripts: paths, logging, and installing what the build needs.
# Every install is pinned and idempotent: a second run finds everything and installs nothing.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
SITE="$ROOT/target/site"
export PATH="$TOOLS/bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> [%4ss] %s\033[0m\n' "$SECONDS" "$*" >&2; }

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# The browser bundle is built by a pinned nightly: it rebuilds the standard library with
# panics that stop at once (`-Cpanic=immediate-abort`, unstable), which leaves the panic
# machinery and its messages out of the wasm (main module -8%, 2026-11-29). Everything else
# (server, tests) builds on stable.
WASM_TOOLCHAIN="nightly-2026-05-19"

ensure_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! rustup component list --toolchain "$WASM_TOOLCHAIN" --installed 2>/dev/null | grep -q '^rust-src'; then
    say "installing $WASM_TOOLCHAIN with rust-src for the browser bundle"
    rustup toolchain install "$WASM_TOOLCHAIN" --profile minimal --component rust-src
  fi
  local want have
  want="$(wasm_bindgen_version)"
  have="$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want into .tools (about 3 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want" --root "$TOOLS" --force
  fi
}

# The splitter of the browser bundle (scripts/wasm-split), built from its own lock file.
ensure_wasm_split() {
  local stamp="$TOOLS/wasm-split.stamp" want
  want="$(cat "$ROOT"/scripts/wasm-split/{Cargo.toml,Cargo.lock,src/main.rs} | sha256sum | cut -c1-16)"
  if [ ! -x "$TOOLS/bin/huddle-wasm-split" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "building the wasm splitter into .tools (about a minute, once)"
    cargo install --locked --path "$ROOT/scripts/wasm-split" --root "$TOOLS" --target-dir "$ROOT/target/tools" --force
    echo "$want" > "$stamp"
  fi
}

# Starts the server binary $1 on a free loopback port with a fresh data folder, stopped (by its
# PID) and cleaned up when the calling script exits. Sets `base`, `data` and `server_pid`; fails
# if the server is not ready within 10 s.
start_server() {
  local port
  port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  data="$(mktemp -d)"
  HUDDLE_ADDR="127.0.0.1:$port" HUDDLE_DATA_DIR="$data" HUDDLE_SITE_DIR="$SITE" RUST_LOG=warn "$1" >/dev/null 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$data"' EXIT
  base="http://127.0.0.1:$port"
  local _
  for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "the server ($1) did not become ready on $base within 10 s" >&2
  return 1
}

# Installs Debian's packages $2… when the command $1 is missing (Debian 12's versions: the
# release pins them).
ensure_debian() {
  local command="$1"
  shift
  if ! command -v "$command" >/dev/null; then
    say "installing $* from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

ensure_brotli() { ensure_debian brotli brotli; }

# Python test servers from PyPI, pinned, each in its own venv.
AIOSMTPD_VERSION=1.4.6
MOTO_VERSION=5.1.18
# A Python tool pinned in a venv of its own under .tools: `ensure_pip_tool <folder> <module>
# <version> <pip requirement>`; nothing happens when that version is already there.
ensure_pip_tool() {
  local venv="$TOOLS/$1" module="$2" version="$3" requirement="$4"
  if [ "$("$venv/bin/python" -c "import $module; print($module.__version__)" 2>/dev/null)" = "$version" ]; then
    return
  fi
  say "installing $requirement into .tools/$1"
  ensure_debian python3 python3
  python3 -m venv "$venv" 2>/dev/null || { ensure_debian_package python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
}

# The SMTP server the mail tests send to.
ensure_aiosmtpd() { ensure_pip_tool smtp aiosmtpd "$AIOSMTPD_VERSION" "aiosmtpd==$AIOSMTPD_VERSION"; }
# moto's S3 server, which the saved-reports tests keep reports in (an S3-compatible bucket on
# loopback, started and stopped by the test).
ensure_moto() { ensure_pip_tool moto moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION"; }

ensure_debian_package() {
  dpkg -s "$1" >/dev/null 2>&1 && return
  say "installing $1 from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# binaryen's optimiser at its first level, over the main module: 195,843 -> 191,493 B brotli,
# 1 s (2026-11-29). Not over the page modules: it took another 2.5 KB off the /expenses pack
# but Lighthouse's performance fell from 96-98 to 93-95 on every page with it (total blocking
# time up by about 100 ms; A/B runs in docs/BENCHMARKS.md). `-Os`/`-Oz` shrink the raw bytes
# more but compress worse. Debian's binaryen (108) writes the main module's export of
# wasm-bindgen's externref table as the function table's; `huddle-wasm-split
# --externref-export` points it back. The features are those rustc's wasm32 target enables.
WASM_OPT="wasm-opt -O1 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"

# Builds the browser bundle (size profile) and lays out the site folder the server serves.
build_site() {
  ensure_brotli
  ensure_debian wasm-opt binaryen
  ensure_wasm_split
  say "building the browser bundle (wasm, profile wasm-release)"
  # .cargo/config.toml sets Leptos' erase_components for this and the server build alike; the
  # flags below are added to its wasm flags. The standard library is rebuilt with the bundle
  # (`-Zbuild-std`, optimised for size) so that panics abort at once, without formatting a
  # message: a panic in the browser is a `RuntimeError: unreachable`, which the page's error
  # listener reports to the server (`components::failures`).
  ensure_rust_tools
  cargo "+$WASM_TOOLCHAIN" build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
    --config 'target.wasm32-unknown-unknown.rustflags = ["-Zunstable-options", "-Cpanic=immediate-abort"]'
  local out="$ROOT/target/wasm32-unknown-unknown/wasm-release"
  rm -rf "$SITE/pkg"
  mkdir -p "$SITE/pkg"
  # Every file of the bundle is named after its content, so browsers may keep it for good
  # (`immutable`) and a new build is new names. The main module, its JS and the stylesheet
  # share one name, the hash of the bytes served (a new splitter or wasm-bindgen with the same
  # input must not reuse a name); the split loader, which the JS imports by a fixed name, is
  # the one file revalidated, and is told the JS's name.
  # Cut at the lazy routes: one module per page (and chunks they share) beside the main one,
  # each named after its content, and a pack per page for its first visit (the splitter's
  # `name_by_content_and_pack`). Loaded after the chat shell: a room, its shared expenses, and the chat socket's code
  # (`socket::start`, a `#[lazy]` function fetched once the page is live).
  huddle-wasm-split "$out/frontend.wasm" "$SITE/pkg" "$out/frontend_split.wasm" huddle \
    --nest=chat_shell_route_view:room_route_view,room_expenses_route_view,start
  wasm-bindgen --target web --keep-lld-exports --no-demangle --remove-name-section --no-typescript \
    --out-dir "$SITE/pkg" --out-name huddle "$out/frontend_split.wasm"
  # wasm-bindgen's shims for browser functions have long hashed names, in the wasm and the JS.
  huddle-wasm-split --short-imports "$SITE/pkg/huddle_bg.wasm" "$SITE/pkg/huddle.js"
  $WASM_OPT "$SITE/pkg/huddle_bg.wasm" -o "$SITE/pkg/huddle_bg.wasm"
  huddle-wasm-split --externref-export "$SITE/pkg/huddle_bg.wasm"
  local main
  main="huddle.$(cat "$SITE/pkg/huddle_bg.wasm" "$SITE/pkg/huddle.js" "$ROOT/style/main.css" | sha256sum | cut -c1-16)"
  mv "$SITE/pkg/huddle.js" "$SITE/pkg/$main.js"
  mv "$SITE/pkg/huddle_bg.wasm" "$SITE/pkg/$main.wasm"
  cp "$ROOT/style/main.css" "$SITE/pkg/$main.css"
  sed -i "s|\"./huddle.js\"|\"./$main.js\"|" "$SITE"/pkg/__wasm_split.*.js
  # What the server links from every page (read once at start-up).
  echo "$main" > "$SITE/bundle.txt"
  cp -r "$ROOT/public/." "$SITE/"
  # Precompressed beside each file; the server sends whichever the browser accepts.
  local f
  for f in "$SITE"/pkg/*.wasm "$SITE"/pkg/*.js "$SITE"/pkg/*.css; do
    gzip -9 -k -f "$f"
    brotli -q 11 -k -f "$f"
  done
}
