#!/usr/bin/env bash
# Haven's matching benchmark, one command: bench/run.sh [SERVICES]   (default 1,000,000)
#
# Generates a seeded national directory and query set, imports it with `haven import`, starts
# two `haven serve` instances on it, and measures with wrk: matches/s and p50/p99 latency at
# 16/64/256 connections, a bare /healthz ceiling, the same-size answer served with no matching
# (examples/static_answer), index build time, RSS per service and commit-to-visible latency
# across instances. Each wrk run (bench/wrk.py) also reports the CPU time wrk and the server
# spent per request: they share the machine's two cores. Then the same queries as SQL against
# PostGIS on the same data (pgbench, 16 and 64 clients). Last, matching alone: the same
# queries through the index on one thread, no HTTP (examples/match_inprocess). Results:
# bench/results/<date>-<N>.json.
#
# Environment: DURATION (seconds per load run, default 20); REUSE_DB=1 skips generation and
# import when the benchmark database already holds the directory; SETTLE (seconds after
# readiness before the loaded RSS is read, default 15); WRK_THREADS (wrk's threads, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
DURATION=${DURATION:-20}
DB="haven_bench_$N"
URL="postgres://postgres@127.0.0.1:5432/$DB"
DATA="bench/data/$N"
OUT="bench/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT" "$DATA"
log() { printf '\n== %s\n' "$*" >&2; }

need=()
command -v wrk >/dev/null || need+=(wrk)
[ -f "/usr/share/postgresql/$(pg_lsclusters --no-header | awk '{print $1; exit}')/extension/postgis.control" ] \
  || need+=("postgresql-$(pg_lsclusters --no-header | awk '{print $1; exit}')-postgis-3")
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (benchmark-only)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

log "building release binary"
cargo build --release -q
cargo build --release -q --example static_answer
cargo build --release -q --example match_inprocess
BIN=target/release/haven
# The key the directory's confidential addresses are sealed with, kept beside the data: every
# later command on this database (serve, bench/compare.sh) must hold it, or Haven refuses to run.
new_key() { python3 -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'; }
KEY_FILE="$DATA/data.key"
export HAVEN_LOG=info
# wrk is one client hammering from 127.0.0.1: the anonymous rate limit would answer 429.
export HAVEN_RATE_LIMIT=0

import_s=None
if [ "${REUSE_DB:-0}" != 1 ] || ! psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw "$DB"; then
  # Data made by another version of the generator is made again: Haven's rules may have
  # changed with it (a confidential site may no longer be its circle's centre).
  generator=$(sha256sum bench/generate.py | cut -d' ' -f1)
  if [ ! -s "$DATA/services.jsonl" ] || [ "$(cat "$DATA/generator.sha256" 2>/dev/null)" != "$generator" ]; then
    log "generating $N services"
    python3 bench/generate.py --services "$N" --out "$DATA"
    echo "$generator" >"$DATA/generator.sha256"
  fi
  log "importing into $DB"
  mkdir -p "$DATA"
  new_key >"$KEY_FILE"
  export HAVEN_DATA_KEY="$(cat "$KEY_FILE")"
  dropdb -h 127.0.0.1 -U postgres --if-exists --force "$DB"
  DATABASE_URL=$URL "$BIN" migrate >/dev/null
  t0=$(date +%s.%N)
  DATABASE_URL=$URL "$BIN" import services "$DATA/services.jsonl" --batch-size 10000
  import_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
fi

[ -s "$KEY_FILE" ] || { echo "no $KEY_FILE: import again (without REUSE_DB)" >&2; exit 1; }
export HAVEN_DATA_KEY="$(cat "$KEY_FILE")"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_instance() { # port db-url logfile -> pid
  DATABASE_URL=$2 HAVEN_BIND="127.0.0.1:$1" HAVEN_WORKERS=2 "$BIN" serve >"$3" 2>&1 &
  echo $!
}
wait_ready() { # port
  for _ in $(seq 1 1200); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.5
  done
  echo "instance on $1 never became ready" >&2; return 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

log "baseline RSS with an empty directory"
EMPTY_URL="postgres://postgres@127.0.0.1:5432/haven_bench_empty"
dropdb -h 127.0.0.1 -U postgres --if-exists --force haven_bench_empty
DATABASE_URL=$EMPTY_URL "$BIN" migrate >/dev/null
pid=$(start_instance 18180 "$EMPTY_URL" "$OUT/empty.log"); pids+=("$pid")
wait_ready 18180
empty_rss=$(rss_kb "$pid")
kill "$pid"

log "starting two instances on $DB"
pid_a=$(start_instance 18181 "$URL" "$OUT/a.log"); pids+=("$pid_a")
wait_ready 18181
pid_b=$(start_instance 18182 "$URL" "$OUT/b.log"); pids+=("$pid_b")
wait_ready 18182
load_ms=$(grep -o 'elapsed_ms=[0-9]*' "$OUT/a.log" | head -1 | cut -d= -f2)
services=$(curl -s http://127.0.0.1:18181/readyz | python3 -c 'import json,sys;print(json.load(sys.stdin)["index"]["services"])')
# RSS at readiness, and settled: the allocator hands freed build memory back some seconds later.
ready_rss=$(rss_kb "$pid_a")
sleep "${SETTLE:-15}"
loaded_rss=$(rss_kb "$pid_a")

wrk_run() { # connections path port server-pid [script]
  local args=("http://127.0.0.1:$3$2" "$1" "$DURATION" --server-pid "$4")
  [ -n "${5:-}" ] && args+=(--script "$5")
  QUERIES="$DATA/queries.jsonl" python3 bench/wrk.py "${args[@]}"
}

log "wrk: /api/v1/match at 16, 64, 256 connections (${DURATION}s each)"
match_runs=()
for c in 16 64 256; do
  r=$(wrk_run "$c" /api/v1/match 18181 "$pid_a" bench/match.lua); echo "$r" >&2; match_runs+=("$r")
done
log "wrk: bare /healthz ceiling at 64 connections"
ceiling=$(wrk_run 64 /healthz 18181 "$pid_a"); echo "$ceiling" >&2

log "wrk: an answer of the same size with no matching (examples/static_answer) at 64 connections"
head -1 "$DATA/queries.jsonl" | curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- \
  http://127.0.0.1:18181/api/v1/match >"$OUT/answer.log"
answer_bytes=$(wc -c <"$OUT/answer.log")
target/release/examples/static_answer "$OUT/answer.log" 127.0.0.1:18183 2 >/dev/null 2>&1 &
pid_static=$!; pids+=("$pid_static")
until curl -sf -o /dev/null http://127.0.0.1:18183/; do sleep 0.2; done
static_answer=$(wrk_run 64 /api/v1/match 18183 "$pid_static" bench/match.lua); echo "$static_answer" >&2

log "commit-to-visible (writes on A, reads on B)"
TOKEN=$(DATABASE_URL=$URL "$BIN" token create --role admin --label bench)
fresh=$(python3 bench/commit_to_visible.py --write http://127.0.0.1:18181 --read http://127.0.0.1:18182 --token "$TOKEN")
echo "$fresh" >&2
cleanup; pids=()

log "PostGIS baseline (same data, same queries, pgbench)"
postgis=$(python3 bench/postgis.py --db "$DB" --queries "$DATA/queries_resolved.jsonl" --seconds "$DURATION")

log "matching alone: the same queries on one thread, no HTTP (examples/match_inprocess)"
inprocess=$(DATABASE_URL=$URL target/release/examples/match_inprocess "$DATA/queries.jsonl" 5)
echo "$inprocess" >&2

python3 - "$OUT/$STAMP-$N.json" <<PY
import json, os, platform, sys
def machine():
    """What ran it: rounds run on different hosts, and figures compare only within one."""
    cpu = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "cpu family", "model") and key not in cpu:
            cpu[key] = value.strip()
    return {"cpu": cpu.get("model name"), "family": cpu.get("cpu family"), "model": cpu.get("model"),
            "cpus": os.cpu_count(), "kernel": platform.release()}
runs = [json.loads(x) for x in """$(printf '%s\n' "${match_runs[@]}")""".splitlines()]
result = {
    "services": $services, "import_s": $import_s, "index_load_ms": ${load_ms:-None},
    "rss_empty_kb": $empty_rss, "rss_at_ready_kb": $ready_rss, "rss_loaded_kb": $loaded_rss,
    "rss_bytes_per_service": round(($loaded_rss - $empty_rss) * 1024 / max(1, $services), 1),
    "match": runs, "healthz_ceiling": json.loads('''$ceiling'''),
    "static_answer_ceiling": {**json.loads('''$static_answer'''), "answer_bytes": $answer_bytes},
    "commit_to_visible": json.loads('''$fresh'''), "postgis": json.loads('''$postgis'''),
    "matching_inprocess": json.loads('''$inprocess'''),
    "duration_s": $DURATION,
    "commit": "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src examples Cargo.toml Cargo.lock || echo '+changes')",
    "machine": machine(),
}
best = {r["connections"]: r for r in runs}
pg = {r["clients"]: r for r in result["postgis"]["runs"]}
if 64 in best and 64 in pg:
    result["speedup_vs_postgis_at_64"] = round(best[64]["rps"] / pg[64]["tps"], 1)
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps(result, indent=2))
PY
