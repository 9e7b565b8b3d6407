#!/usr/bin/env bash
# Same-run comparison with an earlier commit: bench/compare.sh REV [ROUNDS] [SERVICES]
#
# Builds REV (say 59a8c65) in a worktree under target/, starts both binaries at once on the
# benchmark database bench/run.sh left behind, waits for both /readyz and SETTLE seconds
# (default 15), notes each one's RSS, then drives /api/v1/match with wrk at 64 connections for
# DURATION seconds (default 20), alternating between the two, ROUNDS times each (default 2).
# Both stay loaded, so alternating costs no reload, and the pairs (old, then new, seconds
# apart) see the same state of a shared machine; each run reports its pair's ratio. Then,
# when both revisions have it, the in-process benchmark (examples/match_inprocess: the same
# queries through the index on one thread, no HTTP, no wrk), alternated the same way: separate
# runs of one build differ by up to 3% there, where wrk moves by 5% or more, and equal answer
# digests show both builds answered alike. Prints medians and the ratios; writes
# bench/results/<time>-compare.json. The machine is shared: only the ratios mean much.
set -euo pipefail
cd "$(dirname "$0")/.."

REV=${1:?usage: bench/compare.sh REV [ROUNDS] [SERVICES]}
ROUNDS=${2:-2}
N=${3:-1000000}
DURATION=${DURATION:-20}
QUERIES="bench/data/$N/queries.jsonl"
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-compare.json"
. bench/existing.sh

# Each revision's binary is kept under its commit id. The build directory is shared between
# revisions (so dependencies build once), and cargo can take another revision's binary there
# for fresh: Haven's own artifacts are cleaned before each revision is built.
COMMIT=$(git rev-parse --short "$REV^{commit}")
OLD=target/compare-bin/haven-$COMMIT
OLD_INPROC=target/compare-bin/match_inprocess-$COMMIT
OLD_TREE=target/compare-$COMMIT
# Revisions older than the in-process benchmark have none.
has_inproc() { git cat-file -e "$COMMIT:examples/match_inprocess.rs" 2>/dev/null; }
if [ ! -x "$OLD" ] || { has_inproc && [ ! -x "$OLD_INPROC" ]; }; then
  [ -d "$OLD_TREE" ] || git worktree add --detach "$OLD_TREE" "$COMMIT" >/dev/null
  (cd "$OLD_TREE" && CARGO_TARGET_DIR=../compare-build cargo clean -q --release -p haven \
    && CARGO_TARGET_DIR=../compare-build cargo build --release -q)
  mkdir -p target/compare-bin
  cp target/compare-build/release/haven "$OLD"
  if has_inproc; then
    (cd "$OLD_TREE" && CARGO_TARGET_DIR=../compare-build cargo build --release -q --example match_inprocess)
    cp target/compare-build/release/examples/match_inprocess "$OLD_INPROC"
  fi
fi
cargo build --release -q
cargo build --release -q --example match_inprocess
NEW=target/release/haven
NEW_INPROC=target/release/examples/match_inprocess

start() { # binary port; sets STARTED to its pid (a child of this shell, so it can be waited on)
  HAVEN_RATE_LIMIT=0 HAVEN_LOG=warn DATABASE_URL=$URL HAVEN_BIND="127.0.0.1:$2" HAVEN_WORKERS=2 \
    "$1" serve >/dev/null 2>&1 &
  STARTED=$!
}
ready() { # port
  until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; do sleep 0.5; done
}
# One at a time: two full loads at once would each take the other's core.
start "$OLD" 18198
OLD_PID=$STARTED
trap 'kill "$OLD_PID" ${NEW_PID:-} 2>/dev/null || true' EXIT
ready 18198
start "$NEW" 18199
NEW_PID=$STARTED
ready 18199
# Settled RSS: the allocator hands freed build memory back some seconds after readiness.
sleep "${SETTLE:-15}"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
OLD_RSS=$(rss "$OLD_PID")
NEW_RSS=$(rss "$NEW_PID")

run_once() { # port pid rss -> JSON line
  QUERIES=$QUERIES python3 bench/wrk.py "http://127.0.0.1:$1/api/v1/match" 64 "$DURATION" \
    --script bench/match.lua --server-pid "$2" --extra "{\"rss_kb\": $3}"
}

runs=()
for i in $(seq 1 "$ROUNDS"); do
  runs+=("{\"binary\": \"old\", \"run\": $(run_once 18198 "$OLD_PID" "$OLD_RSS")}")
  runs+=("{\"binary\": \"new\", \"run\": $(run_once 18199 "$NEW_PID" "$NEW_RSS")}")
  printf '%s\n%s\n' "${runs[-2]}" "${runs[-1]}" >&2
done
# Both gone, their memory and cores free, before the in-process runs.
kill "$OLD_PID" "$NEW_PID" 2>/dev/null || true
wait "$OLD_PID" "$NEW_PID" 2>/dev/null || true

inproc=()
if [ -x "$OLD_INPROC" ]; then
  for i in $(seq 1 "$ROUNDS"); do
    for which in old new; do
      bin=$OLD_INPROC
      [ "$which" = new ] && bin=$NEW_INPROC
      inproc+=("{\"binary\": \"$which\", \"run\": $(DATABASE_URL=$URL "$bin" "$QUERIES" 6)}")
      printf '%s\n' "${inproc[-1]}" >&2
    done
  done
fi

python3 - "$OUT" "$REV" "$(git rev-parse --short HEAD)" <<PY
import json, statistics, sys
runs = [json.loads(x) for x in """$(printf '%s\n' "${runs[@]}")""".splitlines()]
inproc = [json.loads(x) for x in """$(printf '%s\n' "${inproc[@]}")""".splitlines() if x]
def med(b, k):
    return statistics.median(r["run"][k] for r in runs if r["binary"] == b)
summary = {b: {k: med(b, k) for k in ("rps", "p50_ms", "p99_ms", "rss_kb", "server_cpu_us_per_request", "wrk_cpu_us_per_request")} for b in ("old", "new")}
result = {"old": sys.argv[2], "new": sys.argv[3], "connections": 64, "duration_s": $DURATION,
          "runs": runs, "median": summary,
          "throughput_ratio": round(summary["new"]["rps"] / summary["old"]["rps"], 2)}
# Each new run against the old run just before it.
pairs = [n["run"]["rps"] / o["run"]["rps"] for o, n in zip(runs[0::2], runs[1::2])]
result["paired_throughput_ratios"] = [round(p, 3) for p in pairs]
result["paired_throughput_ratio_median"] = round(statistics.median(pairs), 3)
if inproc:
    us = {b: statistics.median(r["run"]["median_us"] for r in inproc if r["binary"] == b) for b in ("old", "new")}
    # Each run's fastest pass (older builds print only their passes), the best of them.
    fastest = {b: min(min(r["run"]["us_per_query"]) for r in inproc if r["binary"] == b) for b in ("old", "new")}
    digests = {r["run"]["answer_digest"] for r in inproc}
    result["inprocess"] = {"runs": inproc, "median_us": us,
                           "speed_ratio": round(us["old"] / us["new"], 3),
                           "fastest_us": fastest,
                           "fastest_ratio": round(fastest["old"] / fastest["new"], 3),
                           "same_answers": len(digests) == 1}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps(result["median"], indent=2), "\nthroughput new/old:", result["throughput_ratio"],
      "paired:", result["paired_throughput_ratios"], "median", result["paired_throughput_ratio_median"])
if inproc:
    print("in-process us/query:", result["inprocess"]["median_us"], "speed new/old:",
          result["inprocess"]["speed_ratio"], "fastest passes:", result["inprocess"]["fastest_us"],
          "ratio:", result["inprocess"]["fastest_ratio"], "same answers:", result["inprocess"]["same_answers"])
PY
