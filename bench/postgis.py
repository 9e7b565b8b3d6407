#!/usr/bin/env python3
"""PostGIS baseline: the same directory and the same queries as SQL, measured with pgbench.

Builds, inside the benchmark database, a table of coverage geometries (areas as geometry,
radius entries as their stored bounding box plus the centre as geography for an exact
ST_DWithin check, national entries flagged) with GiST indexes, and a table of the resolved
queries; then runs pgbench with a script that answers one query per transaction the way
/api/v1/match does (local coverage that fits needs, facets and age, ranked by needs met and
distance, limit 20; plus national services that fit).
Prints one JSON object with setup time and, per client count, TPS and latency percentiles.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

NEEDS = ["shelter", "transitional_housing", "hotline", "legal_aid", "immigration_legal", "counseling",
         "medical", "case_management", "basic_needs", "youth_services", "substance_use", "employment_education"]
FACETS = ["accepts_unaccompanied_minors", "trafficking_specialized", "dv_specialized", "lgbtq_affirming",
          "no_id_required", "no_immigration_status_required", "no_law_enforcement_required", "accepts_children",
          "accepts_pets", "wheelchair_accessible"]


NULL = "\\N"  # COPY's text-format null


def psql(db, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db],
                   input=sql, text=True, check=True, stdout=subprocess.DEVNULL)


def setup(db, queries_path):
    need_case = " + ".join(f"(CASE WHEN n.need = '{n}' THEN {1 << i} ELSE 0 END)" for i, n in enumerate(NEEDS))
    facet_sum = " + ".join(f"(CASE WHEN s.{f} THEN {1 << i} ELSE 0 END)" for i, f in enumerate(FACETS))
    psql(db, f"""
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS pg_bench_cov, pg_bench_q;
CREATE TABLE pg_bench_cov AS
SELECT c.service_id, c.kind,
       CASE WHEN c.kind = 'area' THEN ST_SetSRID(ST_GeomFromGeoJSON(c.spec->>'geometry'), 4326)
            WHEN c.kind = 'radius' THEN ST_MakeEnvelope(c.min_lon, c.min_lat, c.max_lon, c.max_lat, 4326)
       END AS geom,
       CASE WHEN c.kind = 'radius' THEN ST_SetSRID(ST_MakePoint((c.spec->'center'->>'lon')::float8,
                                                               (c.spec->'center'->>'lat')::float8), 4326)::geography END AS center,
       (c.spec->>'radius_km')::float8 * 1000 AS radius_m,
       (SELECT sum({need_case})::int FROM service_need n WHERE n.service_id = c.service_id) AS needs,
       ({facet_sum})::int AS facets,
       s.min_age::int AS min_age, s.max_age::int AS max_age,
       CASE WHEN l.confidential IS FALSE THEN ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326)::geography END AS site
FROM coverage c JOIN service s ON s.id = c.service_id LEFT JOIN location l ON l.service_id = c.service_id
WHERE c.kind IN ('radius', 'area', 'national');
CREATE INDEX ON pg_bench_cov USING gist (geom);
CREATE INDEX ON pg_bench_cov (kind) WHERE kind = 'national';
ANALYZE pg_bench_cov;
CREATE TABLE pg_bench_q (id int PRIMARY KEY, lat float8, lon float8, needs int, req int, age int);
""")
    rows = []
    with open(queries_path) as f:
        for i, line in enumerate(f, start=1):
            q = json.loads(line)
            needs = sum(1 << NEEDS.index(n) for n in q["needs"])
            req = sum(1 << FACETS.index(x) for x in q.get("require", []))
            age = q.get("age")
            age_text = str(age) if age is not None else NULL
            rows.append(f"{i}\t{q['location']['lat']}\t{q['location']['lon']}\t{needs}\t{req}\t{age_text}")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as t:
        t.write("\n".join(rows) + "\n")
    psql(db, f"\\copy pg_bench_q FROM '{t.name}'\nANALYZE pg_bench_q;\n")
    os.unlink(t.name)
    return len(rows)


SCRIPT = """\\set q random(1, {n})
SELECT r.* FROM pg_bench_q q, LATERAL (
  (SELECT c.service_id, bit_count((c.needs & q.needs)::bit(32)) AS met,
          coalesce(ST_Distance(c.site, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography), 0) AS dist
   FROM pg_bench_cov c
   WHERE ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326))
     AND (c.kind <> 'radius' OR ST_DWithin(c.center, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography, c.radius_m))
     AND (c.needs & q.needs) <> 0 AND (c.facets & q.req) = q.req
     AND (q.age IS NULL OR ((c.min_age IS NULL OR q.age >= c.min_age) AND (c.max_age IS NULL OR q.age <= c.max_age)))
   ORDER BY met DESC, dist, c.service_id LIMIT 20)
  UNION ALL
  (SELECT c.service_id, bit_count((c.needs & q.needs)::bit(32)), 0
   FROM pg_bench_cov c
   WHERE c.kind = 'national' AND (c.needs & q.needs) <> 0 AND (c.facets & q.req) = q.req
   LIMIT 20)
) r WHERE q.id = :q;
"""


def run(db, n, clients, seconds):
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "match.sql")
        with open(script, "w") as f:
            f.write(SCRIPT.format(n=n))
        out = subprocess.run(
            ["pgbench", "-n", "-h", "127.0.0.1", "-U", "postgres", "-f", script, "-c", str(clients), "-j", "2",
             "-T", str(seconds), "-l", "--log-prefix", os.path.join(d, "log"), db],
            capture_output=True, text=True, check=True, cwd=d).stdout
        latencies = []
        for name in os.listdir(d):
            if name.startswith("log"):
                with open(os.path.join(d, name)) as f:
                    latencies.extend(int(line.split()[2]) / 1000.0 for line in f)
    tps = next(float(l.split("=")[1].split()[0]) for l in out.splitlines() if l.startswith("tps"))
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    return {"clients": clients, "tps": tps, "p50_ms": pct(50), "p99_ms": pct(99),
            "mean_ms": statistics.fmean(latencies), "transactions": len(latencies)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--queries", required=True, help="queries_resolved.jsonl")
    ap.add_argument("--clients", default="16,64")
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    started = time.time()
    n = setup(args.db, args.queries)
    result = {"setup_s": round(time.time() - started, 1), "runs": []}
    for c in [int(x) for x in args.clients.split(",")]:
        result["runs"].append(run(args.db, n, c, args.seconds))
        print(json.dumps(result["runs"][-1]), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
