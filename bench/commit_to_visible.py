#!/usr/bin/env python3
"""Commit-to-visible latency: creates services through the admin API of one running instance
and times how long until POST /api/v1/match on (another or the same) instance returns them.
The 201 is sent after the commit, so the clock starts at the response. Prints JSON."""
import argparse
import json
import random
import time
import urllib.request


def call(url, method="GET", body=None, token=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", required=True, help="base URL of the instance that takes the writes")
    ap.add_argument("--read", required=True, help="base URL of the instance that is queried")
    ap.add_argument("--token", required=True)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=10, help="seconds a probe may take")
    args = ap.parse_args()
    _, org = call(f"{args.write}/api/v1/organizations", "POST", {"name": "Freshness probe"}, args.token)
    rng = random.Random(7)
    times = []
    for i in range(args.samples):
        # A spot in the Gulf of Mexico with its own need, so only the probe can match.
        lat, lon = 25.0 + rng.uniform(-0.5, 0.5), -90.0 + rng.uniform(-0.5, 0.5)
        body = {"organization_id": org["id"], "name": f"Probe {i}", "needs": ["employment_education"],
                "coverage": [{"type": "radius", "center": {"lat": lat, "lon": lon}, "radius_km": 2}]}
        _, created = call(f"{args.write}/api/v1/services", "POST", body, args.token)
        start = time.perf_counter()
        query = {"location": {"lat": lat, "lon": lon}, "needs": ["employment_education"]}
        while True:
            _, res = call(f"{args.read}/api/v1/match", "POST", query, args.token)
            if any(r["service_id"] == created["id"] for r in res["results"]):
                break
            if time.perf_counter() - start > args.timeout:
                raise SystemExit(f"probe {i} not visible after {args.timeout} s")
            time.sleep(0.002)
        times.append((time.perf_counter() - start) * 1000)
        call(f"{args.write}/api/v1/services/{created['id']}", "DELETE", None, args.token)
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(p / 100 * len(times)))]
    print(json.dumps({"samples": len(times), "p50_ms": round(pct(50), 1), "p99_ms": round(pct(99), 1),
                      "max_ms": round(times[-1], 1)}))


if __name__ == "__main__":
    main()
