#!/usr/bin/env python3
"""Which answers two running builds give differently: bench/answer_diff.py OLD_PORT NEW_PORT
QUERIES [N]. Sends each of the first N (default all) queries of QUERIES (a bench/data/*/
queries.jsonl) to /api/v1/match on both servers (started on one database, with
HAVEN_RATE_LIMIT=0) and counts the queries whose results, hotlines or near misses differ, and
whether the near misses grew. Prints JSON, with up to three examples (the query, then the
lengths of the old results and of the old and new near-miss lists)."""
import collections
import json
import sys
import urllib.request


def ask(port, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/match",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as answer:
        return json.load(answer)


def main():
    old, new, path = sys.argv[1], sys.argv[2], sys.argv[3]
    lines = open(path).read().splitlines()
    if len(sys.argv) > 4:
        lines = lines[: int(sys.argv[4])]
    kinds, examples = collections.Counter(), []
    for line in lines:
        a, b = ask(old, line), ask(new, line)
        differ = [k for k in ("results", "hotlines", "nearby_outside_coverage") if a[k] != b[k]]
        if not differ:
            continue
        kinds[",".join(differ)] += 1
        near = "nearby_outside_coverage"
        kinds["nearby grew" if len(b[near]) > len(a[near]) else "nearby did not grow"] += 1
        if len(examples) < 3:
            examples.append((line, len(a["results"]), len(a[near]), len(b[near])))
    print(json.dumps({"queries": len(lines), "differing": kinds, "examples": examples}, indent=1))


if __name__ == "__main__":
    main()
