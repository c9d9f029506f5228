#!/usr/bin/env bash
# From a trunk's INVITE to the caller card painted on the agent's screen, measured in the
# browser, at 100 calls per second for 10 s (BENCHMARKS.md, "Web app").
#
#   scripts/bench-web-sip.sh                                # builds the release binary
#   RINGBASE_BIN=target/release/ringbase scripts/bench-web-sip.sh
#
# Starts `ringbase serve --sip` on loopback (free ports) with a scratch data directory and a
# trunk that allows 127.0.0.1, seeds it like the browser tests, and runs
# tests/browser/bench-sip.test.mjs (SIPp phones and trunk, Chromium for the agent). Needs
# `sipp` (Debian `sip-tester`), Chromium and the npm packages (scripts/browser-tests.sh
# installs both).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTS="$ROOT/tests/browser"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
say() { printf '==> %s\n' "$*" >&2; }
command -v sipp >/dev/null || { echo "sipp missing: apt-get install sip-tester" >&2; exit 1; }
[ -x "$CHROMIUM" ] && [ -d "$TESTS/node_modules/playwright-core" ] \
  || { echo "run scripts/browser-tests.sh once first (Chromium, npm packages)" >&2; exit 1; }

if [ -n "${RINGBASE_BIN:-}" ]; then
  BIN="$RINGBASE_BIN"
else
  say "building ringbase (release)"
  cargo build --release -p ringbase --locked --quiet --manifest-path "$ROOT/Cargo.toml"
  BIN="$CARGO_TARGET_DIR/release/ringbase"
fi

DATA="$(mktemp -d "${TMPDIR:-/tmp}/ringbase-bench-sip.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# Free loopback ports: the kernel picks each for a socket that is closed at once (UDP for SIP).
free_port() { node -e "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
HTTP="127.0.0.1:$(free_port)"
SIP="127.0.0.1:$(free_port)"
TRUNK_PORT="$(free_port)"
PHONES_PORT="$(free_port)"
MEDIA_PORTS="$(free_port),$(free_port)"

ADMIN_KEY="$("$BIN" apikey create --role admin --name bench-web-sip --data-dir "$DATA" 2>/dev/null)"
say "serving http://$HTTP, SIP $SIP (data in $DATA)"
"$BIN" serve --http "$HTTP" --sip "$SIP" --sip-realm ringbase-bench --sip-digest-algorithms MD5 \
  --sip-trunk "name=bench,host=127.0.0.1:$TRUNK_PORT,allow=127.0.0.1" \
  --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$HTTP/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { say "the server did not start:"; cat "$DATA/server.log" >&2; exit 1; }
  sleep 0.1
done

node "$TESTS/seed.mjs" "http://$HTTP" "$ADMIN_KEY" "$DATA/seed.json"
status=0
(cd "$TESTS" && RB_SEED="$DATA/seed.json" RB_SIP="$SIP" RB_TRUNK_PORT="$TRUNK_PORT" \
  RB_PHONES_PORT="$PHONES_PORT" RB_MEDIA_PORTS="$MEDIA_PORTS" \
  node --test --test-reporter=spec "$TESTS/bench-sip.test.mjs") || status=$?
if [ "$status" -ne 0 ]; then
  say "failed; the server's log:"; tail -n 50 "$DATA/server.log" >&2
fi
exit "$status"
