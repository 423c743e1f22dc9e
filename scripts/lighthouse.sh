#!/usr/bin/env bash
# Lighthouse (pinned, npm) with Debian's Chromium on /, /login, /chat, /expenses and /reports,
# signed in, against the release server on SQLite with a little data (a room with messages, a few
# expenses). Prints one line per page with the performance, accessibility and best-practices
# scores (the median of RUNS runs, default 3, as Lighthouse advises for its variance); the full
# reports stay in target/lighthouse/. Lighthouse's default mobile settings: simulated slow 4G and
# a 4x slower CPU.
# Needs target/release/huddle and the site (scripts/run.sh builds both).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LIGHTHOUSE_VERSION=12.8.2 # 13 needs Node 22; Debian's and CI's Node is 20
BIN="${HUDDLE_BIN:-$ROOT/target/release/huddle}"
[ -x "$BIN" ] || { echo "build the release server first: cargo build -p server --release" >&2; exit 1; }
[ -f "$SITE/bundle.txt" ] || { echo "build the site first: source scripts/lib.sh; build_site" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
LH="$TOOLS/lighthouse/node_modules/.bin/lighthouse"
if [ "$("$LH" --version 2>/dev/null)" != "$LIGHTHOUSE_VERSION" ]; then
  say "installing lighthouse $LIGHTHOUSE_VERSION into .tools"
  npm install --prefix "$TOOLS/lighthouse" --no-audit --no-fund --loglevel=error "lighthouse@$LIGHTHOUSE_VERSION"
fi

start_server "$BIN"
jar="$data/cookies"

api() { # endpoint, then curl --data-urlencode arguments
  local endpoint="$1"; shift
  curl -sf -o /dev/null -b "$jar" -c "$jar" -H "Origin: $base" "$@" "$base/api/$endpoint"
}
api register -d "name=Ada Lovelace&username=ada&email=ada@example.org&password=violet-otter-harbour-42"
api login -d "login=ada&password=violet-otter-harbour-42"
api create_room -d "name=Lighthouse&topic=Scores for every page&visibility=public"
for i in 1 2 3 4 5; do api post_message -d "room=1&body=Message number $i, with a link https://example.org/$i"; done
category="$(curl -sf -b "$jar" "$base/expenses" | grep -o '<option value="[0-9]*"' | head -1 | grep -o '[0-9]\+')"
for i in 1 2 3 4 5 6; do
  api add_expense -d "amount=1$i.50&description=Lunch $i&category_id=$category&spent_on=$(date -u +%Y-%m-0$i)"
done
# The jar's HttpOnly lines start with "#HttpOnly_"; every cookie goes in one header.
cookie="$(awk -F'\t' 'NF == 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }' <(sed 's/^#HttpOnly_//' "$jar"))"

out="$ROOT/target/lighthouse"
mkdir -p "$out"
RUNS="${RUNS:-3}"
lighthouse() { # page name headers
  CHROME_PATH=/usr/bin/chromium "$LH" "$base$1" --quiet --output=json --output-path="$out/$2.json" \
    --only-categories=performance,accessibility,best-practices --extra-headers="$3" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" >/dev/null
}
# One throwaway run: the first Chromium start of a session is slow and its trace, simulated at
# 4x CPU slowdown, would count that against whichever page came first.
lighthouse /login warmup '{}'
printf '%-10s %12s %14s %15s   %s\n' page performance accessibility best-practices "(median of $RUNS runs; each run's performance)"
for page in / /login /chat /expenses /reports; do
  name="$(echo "${page#/}" | sed 's/^$/home/')"
  headers="{\"Cookie\": \"$cookie\"}"
  # The login page is for visitors: a signed-in browser is sent home from it.
  [ "$page" = /login ] && headers='{}'
  for run in $(seq "$RUNS"); do lighthouse "$page" "$name-$run" "$headers"; done
  node -e '
    const [page, ...files] = process.argv.slice(1);
    const reports = files.map((f) => require(f));
    for (const r of reports)
      if (r.finalDisplayedUrl.replace(/\/$/, "") !== r.requestedUrl.replace(/\/$/, ""))
        console.error(`${r.requestedUrl} ended at ${r.finalDisplayedUrl}`);
    const median = (k) => {
      const v = reports.map((r) => Math.round(r.categories[k].score * 100)).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)];
    };
    const each = reports.map((r) => Math.round(r.categories.performance.score * 100)).join(" ");
    console.log(page.padEnd(10), String(median("performance")).padStart(12),
      String(median("accessibility")).padStart(14), String(median("best-practices")).padStart(15), `   (${each})`);
  ' "$page" $(for run in $(seq "$RUNS"); do echo "$out/$name-$run.json"; done)
done
