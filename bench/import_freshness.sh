#!/usr/bin/env bash
# Commit-to-visible right after a bulk import larger than an instance's overlay holds:
# bench/import_freshness.sh [BINARY] [SERVICES]   (default target/release/haven, 1000000)
#
# On the database bench/run.sh left behind: starts one instance of BINARY, waits until it is
# ready, imports EXTRA (default 6,000) more services from the benchmark's own file with
# `haven import`, and at once times, with bench/commit_to_visible.py, how long 20 new services
# take to reach /api/v1/match on that instance. Past 5,000 changed services an instance moves
# them into a new base index, which at a million services takes most of a minute; this shows
# whether changes wait for it. Each run adds EXTRA services (and removes its probes). Prints
# the probe figures as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/haven}
N=${2:-1000000}
EXTRA=${EXTRA:-6000}
PORT=${PORT:-18511}
DATA="bench/data/$N/services.jsonl"
. bench/existing.sh
extra=$(mktemp)
trap 'rm -f "$extra"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT

head -n "$EXTRA" "$DATA" >"$extra"
HAVEN_RATE_LIMIT=0 HAVEN_LOG=warn DATABASE_URL=$URL HAVEN_BIND="127.0.0.1:$PORT" HAVEN_WORKERS=2 \
  "$BIN" serve >/dev/null 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.5; done
token=$(DATABASE_URL=$URL HAVEN_LOG=warn "$BIN" token create --role admin --label import-freshness 2>/dev/null)
DATABASE_URL=$URL HAVEN_LOG=warn "$BIN" import services "$extra" --batch-size 2000 >/dev/null 2>&1
python3 bench/commit_to_visible.py --write "http://127.0.0.1:$PORT" --read "http://127.0.0.1:$PORT" \
  --token "$token" --samples 20 --timeout 300
