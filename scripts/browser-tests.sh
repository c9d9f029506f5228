#!/usr/bin/env bash
# End-to-end tests of the web app in a real browser (Debian's chromium, driven by
# playwright-core), against a fresh `ringbase serve` seeded through the API.
#
#   scripts/browser-tests.sh            # everything: asset checks, app tests, benchmarks
#   scripts/browser-tests.sh app        # only tests/browser/app.test.mjs (any file prefix)
#   RINGBASE_BIN=target/debug/ringbase scripts/browser-tests.sh   # skip the build
#
# Idempotent: installs chromium (apt) and the npm packages (npm ci) only when missing, builds
# the debug binary, serves it on a free loopback port with a temporary data directory, and
# removes both afterwards. Screenshots go to docs/screenshots/. Exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTS="$ROOT/tests/browser"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

say() { printf '==> %s\n' "$*" >&2; }

# 1. The browser: Debian's package, never a download of playwright's own.
if [ ! -x "$CHROMIUM" ]; then
  say "installing chromium (apt)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM

# 2. playwright-core, exactly as locked; reinstalled only when the lock file changed.
STAMP="$TESTS/node_modules/.ringbase-lock"
if ! cmp -s "$TESTS/package-lock.json" "$STAMP" 2>/dev/null; then
  say "installing npm packages (npm ci)"
  (cd "$TESTS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$TESTS/package-lock.json" "$STAMP"
fi

# 3. The server: the debug binary, built here unless RINGBASE_BIN names one already built
#    (CI builds the workspace before; a shared checkout may be mid-edit elsewhere).
if [ -n "${RINGBASE_BIN:-}" ]; then
  BIN="$RINGBASE_BIN"
  say "using $BIN"
else
  say "building ringbase"
  cargo build -p ringbase --locked --quiet --manifest-path "$ROOT/Cargo.toml"
  BIN="$CARGO_TARGET_DIR/debug/ringbase"
fi

DATA="$(mktemp -d "${TMPDIR:-/tmp}/ringbase-browser.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# A free loopback port: the kernel picks one for a socket that is closed at once.
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
# The SIP registrar too (UDP and TCP), so the tests can register a desk phone.
SIP="127.0.0.1:$(free_port)"

ADMIN_KEY="$("$BIN" apikey create --role admin --name browser-tests --data-dir "$DATA" 2>/dev/null)"
say "serving $BASE (data in $DATA)"
"$BIN" serve --http "127.0.0.1:$PORT" --sip "$SIP" --sip-realm ringbase-test --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if curl -fsS "$BASE/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "the server did not start:"; cat "$DATA/server.log" >&2; exit 1
  fi
  sleep 0.1
done
curl -fsS "$BASE/health" >/dev/null || { say "the server does not answer"; cat "$DATA/server.log" >&2; exit 1; }

# 4. Seed through the API and run the tests, one file at a time (they share the server).
node "$TESTS/seed.mjs" "$BASE" "$ADMIN_KEY" "$DATA/seed.json"
FILES=()
if [ $# -gt 0 ]; then
  for prefix in "$@"; do FILES+=("$TESTS/$prefix".test.mjs); done
else
  FILES=("$TESTS"/assets.test.mjs "$TESTS"/app.test.mjs "$TESTS"/tasks.test.mjs "$TESTS"/dial.test.mjs "$TESTS"/calllog.test.mjs "$TESTS"/supervisor.test.mjs "$TESTS"/tablet.test.mjs "$TESTS"/trunks.test.mjs "$TESTS"/bench.test.mjs "$TESTS"/prompts.test.mjs)
fi
status=0
(cd "$TESTS" && RB_SEED="$DATA/seed.json" RB_BIN="$BIN" RB_DATA="$DATA" RB_SIP="$SIP" node --test --test-concurrency=1 --test-reporter=spec "${FILES[@]}") || status=$?
if [ "$status" -ne 0 ]; then
  say "tests failed; the server's log:"
  tail -n 50 "$DATA/server.log" >&2
fi
exit "$status"
