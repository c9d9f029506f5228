#!/usr/bin/env bash
# Calls per second through the B2BUA, for BENCHMARKS.md ("B2BUA calls per second (issue 4)").
#
#   scripts/bench-sip-calls.sh [AGENTS] [RATE...]     default 200 agents; 100 200 500 1000 1500 2000
#   PERF_OUT=perf.data scripts/bench-sip-calls.sh ...   also records a CPU profile of the server
#                                                       (PERF_CALLGRAPH=fp|dwarf|none, default fp)
#   ERRORS_DIR=/tmp/x scripts/bench-sip-calls.sh ...     keeps SIPp's error logs (caller and phones) per rate there
#   HOLD_CALLS=5000 scripts/bench-sip-calls.sh ...     first holds that many calls up at once
#                                                       (20 s each): memory per active call
#
# Starts `ringbase serve` (release) on loopback with a scratch SQLite store under
# target/bench-sip-calls, a trunk that allows 127.0.0.1, AGENTS users with SIP passwords, and
# routing settings: one line, one queue (strategy "evenly") with every agent. All agents
# register from one SIPp port, where ../shared/bench/uas-answer.xml then answers every INVITE at
# once. For each RATE a SIPp caller (tests/sipp/calls/bench-uac.xml: INVITE, 200, ACK, BYE at
# once, like SIPp's built-in uac with -d 0) places 10 s of calls to the line through Ringbase;
# prints successful / failed calls and retransmissions, and the call records written.
# Every call is routed by the engine, looked up in the CRM and logged (SQLite, one transaction
# per call).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AGENTS="${1:-200}"; shift || true
RATES=("$@"); [ ${#RATES[@]} -eq 0 ] && RATES=(100 200 500 1000 1500 2000)
DATA="$ROOT/target/bench-sip-calls"
BIN="${BIN:-$ROOT/target/release/ringbase}"
UAS="$ROOT/../shared/bench/uas-answer.xml"
REG="$ROOT/tests/sipp/register.xml"
UAC="$ROOT/tests/sipp/calls/bench-uac.xml"
HTTP=127.0.0.1:18092; SIP=127.0.0.1:15082; PHONES=15093
LINE=+493012345678
say() { printf '==> %s\n' "$*" >&2; }
command -v sipp >/dev/null || { echo "sipp missing: apt-get install sip-tester" >&2; exit 1; }

say "building ringbase (release)"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p ringbase --quiet --manifest-path "$ROOT/Cargo.toml"
rm -rf "$DATA"; mkdir -p "$DATA"
WORK=$(mktemp -d)
"$BIN" --data-dir "$DATA" serve --http "$HTTP" --sip "$SIP" --sip-digest-algorithms MD5 \
  --sip-trunk "name=bench,host=127.0.0.1:15099,allow=127.0.0.1" >"$DATA/server.log" 2>&1 &
SERVER=$!
UASPID=
trap 'kill $SERVER $UASPID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://$HTTP/" && break; sleep 0.2; done
KEY=$("$BIN" --data-dir "$DATA" apikey create --role admin)

say "seeding $AGENTS agents with SIP passwords and the routing settings"
python3 - "$HTTP" "$KEY" "$AGENTS" "$LINE" <<'PY'
import http.client, json, sys
host, key, n, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection(*host.split(":"))
h = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
ids = []
for i in range(n):
    c.request("POST", "/api/v1/users", json.dumps({"name": f"agent{i}", "login": f"agent{i}", "role": "agent"}), h)
    r = c.getresponse(); body = json.loads(r.read()); assert r.status == 201, body
    ids.append(body["id"])
    c.request("PUT", f"/api/v1/users/{body['id']}/sip-password", json.dumps({"password": "secret-pass"}), h)
    r = c.getresponse(); r.read(); assert r.status == 200
settings = {
    "agents": [{"id": i, "name": f"agent{k}"} for k, i in enumerate(ids)],
    "lines": [{"number": line, "name": "Bench", "queue": "all"}],
    "queues": [{"name": "all", "strategy": "evenly", "members": ids}],
}
c.request("PUT", "/api/v1/settings/routing", json.dumps(settings), h)
r = c.getresponse(); body = r.read(); assert r.status == 200, body
PY
python3 -c "print('SEQUENTIAL'); [print(f'agent{i};[authentication username=agent{i} password=secret-pass];3600') for i in range($AGENTS)]" >"$WORK/agents.csv"
(cd "$WORK" && sipp "$SIP" -sf "$REG" -inf "$WORK/agents.csv" -m "$AGENTS" -r 200 -i 127.0.0.1 -p "$PHONES" \
  -nostdin -timeout 60s -timeout_error >/dev/null 2>&1) || { echo "registration failed" >&2; exit 1; }
registered=$(curl -s -H "Authorization: Bearer $KEY" "http://$HTTP/api/v1/registrations" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['items']))")
say "$registered agents registered from 127.0.0.1:$PHONES"
printf 'SEQUENTIAL\n%s;+4917612345678\n' "$LINE" >"$WORK/calls.csv"
calls_logged() {
  python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from calls').fetchone()[0])" "$DATA/ringbase.db"
}
sleep 1.5  # routing settings are picked up within a second
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
sip_load() { curl -s -H "Authorization: Bearer $KEY" "http://$HTTP/api/v1/sip/load"; }
if [ -n "${HOLD_CALLS:-}" ]; then  # memory per active call: HOLD_CALLS calls held 20 s at once
  sipp -sf "$UAS" -i 127.0.0.1 -p "$PHONES" -mp 17000 -nostdin >/dev/null 2>&1 &
  UASPID=$!
  sleep 0.5
  before=$(rss)
  (cd "$WORK" && timeout 120 sipp "$SIP" -sf "$UAC" -inf "$WORK/calls.csv" -i 127.0.0.1 -p 19999 -mp 16000 \
     -r 500 -m "$HOLD_CALLS" -d 20000 -nostdin -timeout 60s >/dev/null 2>&1) &
  HOLDPID=$!
  sleep $((HOLD_CALLS / 500 + 3))
  peak=$(rss); load=$(sip_load)
  wait $HOLDPID || true
  kill "$UASPID" 2>/dev/null; UASPID=; sleep 2
  echo "hold: RSS before ${before} kB, with the calls up ${peak} kB (load ${load}), after $(rss) kB; load now $(sip_load)"
  python3 -c "import json,sys; l=json.loads(sys.argv[3]); print(f'hold: {(int(sys.argv[2])-int(sys.argv[1]))/max(l[\"calls\"],1):.2f} kB per active call ({l[\"calls\"]} calls, {l[\"legs\"]} legs)')" "$before" "$peak" "$load"
fi
PERFPID=
if [ -n "${PERF_OUT:-}" ]; then  # a CPU profile of the server over the whole ramp
  graph=(--call-graph "${PERF_CALLGRAPH:-fp}"); [ "${PERF_CALLGRAPH:-}" = none ] && graph=()
  perf record -e cpu-clock -F "${PERF_FREQ:-999}" "${graph[@]}" -p "$SERVER" -o "$PERF_OUT" >/dev/null 2>&1 &
  PERFPID=$!
fi
for r in "${RATES[@]}"; do
  sipp -sf "$UAS" -i 127.0.0.1 -p "$PHONES" -mp 17000 -nostdin \
    ${ERRORS_DIR:+-trace_err -error_file "$ERRORS_DIR/uas_errors_$r.log"} >/dev/null 2>&1 &
  UASPID=$!
  sleep 0.5
  port=$((20000 + RANDOM % 20000))
  m=$((r * 10))
  cpu_before=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
  (cd "$WORK" && timeout 120 sipp "$SIP" -sf "$UAC" -inf "$WORK/calls.csv" -i 127.0.0.1 -p $port -mp 16000 \
     -r "$r" -m "$m" -nostdin -timeout 60s -trace_stat -stf "$WORK/stat_$r.csv" -fd 1 \
     ${ERRORS_DIR:+-trace_err -error_file "$ERRORS_DIR/uac_errors_$r.log"} >"$WORK/uac_$r.log" 2>&1) || true
  python3 - "$WORK/stat_$r.csv" "$r" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
h, last = rows[0], rows[-1]
g = lambda k: last[h.index(k)]
print(f"rate {sys.argv[2]:>5}: ok {g('SuccessfulCall(C)'):>6} failed {g('FailedCall(C)'):>5} retrans {g('Retransmissions(C)'):>5} "
      f"avg-rate {float(g('CallRate(C)')):.0f}/s", flush=True)
PY
  cpu_after=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
  echo "            server CPU $(( (cpu_after - cpu_before) * 10000 / m )) µs per call (user + system, clock ticks of 10 ms)"
  kill "$UASPID" 2>/dev/null; UASPID=; sleep 4.5
  echo "            server RSS $(awk '/VmRSS/ {print $2}' /proc/$SERVER/status) kB, call records so far $(calls_logged)"
done
[ -n "$PERFPID" ] && { kill -INT "$PERFPID"; wait "$PERFPID" 2>/dev/null || true; }
# Records are written off the SIP loop; wait until the count stops moving (at most 5 min).
placed=0; for r in "${RATES[@]}"; do placed=$((placed + r * 10)); done
last=-1; n=$(calls_logged)
for _ in $(seq 60); do [ "$n" = "$last" ] && break; last=$n; sleep 5; n=$(calls_logged); done
echo "calls placed by SIPp: $placed; call records written: $n"
echo "SIP load when the records stopped moving: $(sip_load)"
sleep "${SETTLE:-35}"  # Timer J/K/I hold finished transactions for up to 32 s; SETTLE=100 also waits out a keepalive (60 s + 32 s)
echo "SIP load ${SETTLE:-35} s later: $(sip_load); server RSS $(rss) kB; call records now $(calls_logged)"
grep -E "ERROR|WARN" "$DATA/server.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5 || true
