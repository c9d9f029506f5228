#!/usr/bin/env bash
# Caller lookup at N contacts, in-process and over HTTP; prints the figures for BENCHMARKS.md.
#
#   scripts/bench-lookup.sh [CONTACTS]       default 1000000
#
# Seeds a scratch SQLite store under target/bench-lookup-N once (reruns reuse it), runs
# `ringbase bench lookup` (in-process percentiles), then serves that store on a free loopback
# port and drives GET /api/v1/lookup with wrk (Debian's package, installed when missing),
# rotating over the seeded numbers in national format.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTACTS="${1:-1000000}"
DATA="$ROOT/target/bench-lookup-$CONTACTS"
BIN="$ROOT/target/release/ringbase"
say() { printf '==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

say "building ringbase (release)"
cargo build --release -p ringbase --quiet --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$DATA"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(date -u +%F)"
say "in-process lookups"
"$BIN" --data-dir "$DATA" bench lookup --contacts "$CONTACTS"

KEY="$("$BIN" --data-dir "$DATA" apikey create --role agent --name bench 2>/dev/null)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$BIN" --data-dir "$DATA" serve --http "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f "$LUA"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

LUA="$(mktemp --suffix=.lua)"
cat >"$LUA" <<LUA
-- Each request asks for another seeded number, spread over the whole range.
local n = 0
request = function()
  n = n + 1
  local i = (n * 7919) % $CONTACTS
  return wrk.format("GET", string.format("/api/v1/lookup?number=0151%08d", i),
    { ["Authorization"] = "Bearer $KEY" })
end
LUA
for c in 1 8; do
  say "HTTP: wrk -t1 -c$c -d10s"
  wrk -t1 -c"$c" -d10s --latency -s "$LUA" "http://127.0.0.1:$PORT" | sed -n '/Latency Distribution/,/Requests\/sec/p'
done
