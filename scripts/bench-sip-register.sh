#!/usr/bin/env bash
# REGISTER with digest auth per second, and memory per registration, for BENCHMARKS.md.
#
#   scripts/bench-sip-register.sh [USERS] [RATE...]      default 20000 users; 1000 2000 3000 4000 5000 6000 8000
#   KAMAILIO=1 scripts/bench-sip-register.sh ...          then the same ramp through Kamailio 5.6's
#                                                         registrar (../shared/bench/kamailio-registrar.cfg)
#
# Starts `ringbase serve` (release) on loopback with a scratch SQLite store under
# target/bench-sip-register (users seeded over the API once, each with SIP password
# "secret-pass"), then:
#  1. memory: RSS before, after USERS registrations (at 2000/s) once their transactions are
#     over (40 s), and after USERS more bindings (a second SIPp port) — the second step gives the
#     steady-state cost of one binding, the first includes the transaction peak;
#  2. rate: for each RATE, 10 s of SIPp register-auth.xml (../shared/bench) at that rate;
#     prints successful / failed registrations and retransmissions.
# Digest with MD5 only: SIPp 3.6 answers only the first challenge and knows only MD5 (Kamailio's
# registrar, the peer in ../shared/bench, uses MD5 too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
USERS="${1:-20000}"; shift || true
RATES=("$@"); [ ${#RATES[@]} -eq 0 ] && RATES=(1000 2000 3000 4000 5000 6000 8000)
DATA="$ROOT/target/bench-sip-register"
BIN="$ROOT/target/release/ringbase"
SCENARIO="$ROOT/../shared/bench/register-auth.xml"
HTTP=127.0.0.1:18090; SIP=127.0.0.1:15080
say() { printf '==> %s\n' "$*" >&2; }
command -v sipp >/dev/null || { echo "sipp missing: apt-get install sip-tester" >&2; exit 1; }

say "building ringbase (release)"
cargo build --release -p ringbase --quiet --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$DATA"
WORK=$(mktemp -d)
"$BIN" --data-dir "$DATA" serve --http "$HTTP" --sip "$SIP" --sip-digest-algorithms MD5 >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }

if [ ! -f "$DATA/seeded-$USERS" ]; then
  say "seeding $USERS users with SIP passwords over the API"
  KEY=$("$BIN" --data-dir "$DATA" apikey create --role admin)
  python3 - "$HTTP" "$KEY" "$USERS" <<'PY'
import http.client, json, sys
host, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection(*host.split(":"))
h = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
for i in range(n):
    c.request("POST", "/api/v1/users", json.dumps({"name": f"user{i}", "login": f"user{i}", "role": "agent"}), h)
    r = c.getresponse(); body = json.loads(r.read()); assert r.status == 201, body
    c.request("PUT", f"/api/v1/users/{body['id']}/sip-password", json.dumps({"password": "secret-pass"}), h)
    r = c.getresponse(); r.read(); assert r.status == 200
PY
  touch "$DATA/seeded-$USERS"
  # Fresh process for the memory figures.
  kill $SERVER; wait $SERVER 2>/dev/null || true
  "$BIN" --data-dir "$DATA" serve --http "$HTTP" --sip "$SIP" --sip-digest-algorithms MD5 >"$WORK/server.log" 2>&1 &
  SERVER=$!
  sleep 2
fi
python3 -c "print('SEQUENTIAL'); [print(f'user{i};[authentication username=user{i} password=secret-pass]') for i in range($USERS)]" >"$WORK/users.csv"

report() { # stat.csv label
  python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
h, last = rows[0], rows[-1]
g = lambda k: last[h.index(k)]
print(f"{sys.argv[2]:>10}: ok {g('SuccessfulCall(C)'):>6} failed {g('FailedCall(C)'):>5} retrans {g('Retransmissions(C)'):>5} "
      f"avg-rate {float(g('CallRate(C)')):.0f}/s")
PY
}
run() { # rate count port label
  timeout 300 sipp "$SIP" -sf "$SCENARIO" -inf "$WORK/users.csv" -r "$1" -m "$2" -i 127.0.0.1 -p "$3" \
    -nostdin -timeout 120s -trace_stat -stf "$WORK/stat_$3_$1.csv" -fd 1 >"$WORK/sipp_$3_$1.log" 2>&1 || true
  report "$WORK/stat_$3_$1.csv" "$4"
}
peak() { awk '/VmHWM/ {print $2}' "/proc/$SERVER/status"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(date -u +%F)"
before=$(rss)
run 2000 "$USERS" 25300 "mem-1"
sleep 40; after1=$(rss)
run 2000 "$USERS" 25301 "mem-2"
sleep 40; after2=$(rss)
echo "RSS: ${before} kB before, ${after1} kB after $USERS registrations, ${after2} kB after $USERS more bindings"
python3 -c "print(f'per registration incl. transaction peak: {($after1-$before)*1024/$USERS:.0f} B; steady state per binding: {($after2-$after1)*1024/$USERS:.0f} B')"

# A fresh process for the ramp: the replay guard (300000 nonces younger than 5 minutes) is
# sized for a sustained 1000 REGISTER/s, and the ramp alone sends 290000 in under 5 minutes.
kill $SERVER; wait $SERVER 2>/dev/null || true
"$BIN" --data-dir "$DATA" serve --http "$HTTP" --sip "$SIP" --sip-digest-algorithms MD5 >"$WORK/server.log" 2>&1 &
SERVER=$!
sleep 2
port=25400
for r in "${RATES[@]}"; do
  port=$((port + 1))
  run "$r" $((r * 10)) "$port" "rate $r"
  sleep 5
done
echo "peak RSS during the ramp: $(peak) kB (UDP transactions live 32 s after their answer, Timer J)"

if [ "${KAMAILIO:-0}" = 1 ]; then
  command -v kamailio >/dev/null || { echo "kamailio missing: apt-get install kamailio" >&2; exit 1; }
  kill $SERVER; wait $SERVER 2>/dev/null || true
  say "the same ramp through Kamailio's registrar (MD5, qop=auth, password \"secret\")"
  kamailio -m 1024 -M 32 -f "$ROOT/../shared/bench/kamailio-registrar.cfg" -P "$WORK/kam.pid" >"$WORK/kam.log" 2>&1
  sleep 2
  trap 'kill $(cat "$WORK/kam.pid") 2>/dev/null; rm -rf "$WORK"' EXIT
  sed 's/password=secret-pass/password=secret/' "$WORK/users.csv" >"$WORK/users-kam.csv"
  for r in "${RATES[@]}"; do
    port=$((port + 1))
    timeout 300 sipp 127.0.0.1:15064 -sf "$SCENARIO" -inf "$WORK/users-kam.csv" -r "$r" -m $((r * 10)) -i 127.0.0.1 -p "$port" \
      -nostdin -timeout 120s -trace_stat -stf "$WORK/kam_$r.csv" -fd 1 >/dev/null 2>&1 || true
    report "$WORK/kam_$r.csv" "kam $r"
    sleep 5
  done
fi
