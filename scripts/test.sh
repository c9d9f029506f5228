#!/usr/bin/env bash
# Runs every test of Ringbase. Installs what the tests need first (Debian packages only), so it
# works on a fresh machine of the project's kind. `.ci/run` calls exactly this.
#
#   ./scripts/test.sh            everything: format, lints, all tests
#
# Environment:
#   RINGBASE_TEST_DATABASE_URL   PostgreSQL for the store suite (default postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

need_apt=()
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v sipp >/dev/null 2>&1 || need_apt+=(sip-tester)   # SIPp: the SIP server's real peer
command -v baresip >/dev/null 2>&1 || need_apt+=(baresip-core) # a real softphone (headless)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

export RINGBASE_TEST_DATABASE_URL="${RINGBASE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The PostgreSQL server is part of the machine; start it if it is installed but stopped. The
# store suite must really run against it, so a missing server fails the run below, loudly.
if ! psql "$RINGBASE_TEST_DATABASE_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    sleep 2
  fi
fi
psql "$RINGBASE_TEST_DATABASE_URL" -qAtc 'select version()' >&2 \
  || { echo "PostgreSQL at $RINGBASE_TEST_DATABASE_URL is not reachable; the store suite needs it" >&2; exit 1; }

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
cargo test --workspace --locked 2>&1 | tee target/test-output.txt

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' target/test-output.txt

# The web app in a real browser: Debian's chromium driven by playwright-core (installed from
# Debian's packages and the npm registry when missing; no browser download).
log "browser tests"
scripts/browser-tests.sh
