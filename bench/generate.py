#!/usr/bin/env python3
"""Generates a reproducible national directory and query set for Haven's benchmark.

services.jsonl: one `POST /api/v1/services` body per line (with organization_name), for
`haven import services`. About 90% radius coverage, about 10% polygon areas (64 to 5,000
vertices, most near 64), a few national. Places are ZIP (ZCTA) centroids drawn uniformly,
which weights them by population density (ZIPs are dense where people are).
queries.jsonl: `POST /api/v1/match` bodies: 1-3 needs, some filters, 20% by ZIP code.
queries_resolved.jsonl: the same queries with the ZIP resolved to its centroid (for the
PostGIS baseline, which gets the same points).
"""
import argparse
import gzip
import json
import math
import os
import random

NEEDS = ["shelter", "transitional_housing", "hotline", "legal_aid", "immigration_legal", "counseling",
         "medical", "case_management", "basic_needs", "youth_services", "substance_use", "employment_education"]
FACETS = ["accepts_unaccompanied_minors", "trafficking_specialized", "dv_specialized", "lgbtq_affirming",
          "no_id_required", "no_immigration_status_required", "no_law_enforcement_required", "accepts_children",
          "accepts_pets", "wheelchair_accessible"]
LANGS = ["en", "es", "zh", "vi", "tl", "ko", "ru", "ar", "fr", "ht"]
HERE = os.path.dirname(os.path.abspath(__file__))


def load_zips():
    path = os.path.join(HERE, "..", "seed", "zips", "us-zcta-centroids.csv.gz")
    out = []
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("#") or line.startswith("zip"):
                continue
            z, lat, lon = line.strip().split(",")
            out.append((z, float(lat), float(lon)))
    return out


def vertex_count(rng):
    # Most areas are simple; a few are detailed county-like outlines.
    r = rng.random()
    if r < 0.90:
        return rng.randint(64, 128)
    if r < 0.99:
        return rng.randint(129, 1000)
    return rng.randint(1001, 5000)


def star_polygon(rng, lat, lon, n):
    # Star-shaped around the centre: simple (never self-intersecting) by construction.
    base = rng.uniform(0.05, 0.4)  # degrees
    coords = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = base * rng.uniform(0.7, 1.0)
        x = max(-179.999, min(179.999, lon + r * math.cos(a) / max(0.2, math.cos(math.radians(lat)))))
        y = max(-89.999, min(89.999, lat + r * math.sin(a)))
        coords.append([round(x, 5), round(y, 5)])
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


def service(rng, i, zips):
    z, lat, lon = rng.choice(zips)
    lat += rng.uniform(-0.02, 0.02)
    lon += rng.uniform(-0.02, 0.02)
    kind = rng.random()
    if kind < 0.0001:
        coverage = [{"type": "national", "country": "US"}]
    elif kind < 0.10:
        coverage = [{"type": "area", "geometry": star_polygon(rng, lat, lon, vertex_count(rng))}]
    else:
        coverage = [{"type": "radius", "center": {"lat": round(lat, 5), "lon": round(lon, 5)},
                     "radius_km": rng.choice([5, 10, 15, 25, 40, 60, 80])}]
    body = {
        "organization_name": f"Bench Org {i // 50}",
        "name": f"Bench Service {i}",
        "needs": rng.sample(NEEDS, rng.randint(1, 3)),
        "eligibility": {f: True for f in FACETS if rng.random() < 0.3},
        "languages": ["en"] + (["es"] if rng.random() < 0.5 else []) + ([rng.choice(LANGS)] if rng.random() < 0.2 else []),
        "phones": [{"number": f"555-01{rng.randint(0, 99):02d}", "type": "voice", "available_24_7": rng.random() < 0.3}],
        "coverage": coverage,
    }
    if rng.random() < 0.2:
        body["eligibility"]["min_age"] = 18
    if rng.random() < 0.7:
        confidential = rng.random() < 0.05
        site_lat, site_lon = lat, lon
        if confidential and coverage[0]["type"] in ("radius", "area"):
            # Haven refuses a confidential site within 5 km of the middle of its circle or
            # area (the coverage would show it): 9 km from the centre the coverage is drawn
            # around (a star's centroid strays from it by up to 1.5 km), on a bearing from the
            # service number, so the random stream, and with it the rest of the directory, is
            # as before.
            bearing = i * 2.399963
            site_lat = max(-89.9, min(89.9, lat + 9 / 111.2 * math.cos(bearing)))
            site_lon = lon + 9 / (111.2 * max(0.2, math.cos(math.radians(lat)))) * math.sin(bearing)
        body["location"] = {"lat": round(site_lat, 5), "lon": round(site_lon, 5), "confidential": confidential,
                            "address": {"city": "Benchville", "country": "US"}}
    if rng.random() < 0.2:
        body["capacity"] = {"available": rng.randint(0, 5), "total": 10}
    return body


def query(rng, zips):
    z, lat, lon = rng.choice(zips)
    q = {"needs": rng.sample(NEEDS, rng.randint(1, 3))}
    if rng.random() < 0.2:
        q["location"] = {"postal_code": z}
        resolved = {"lat": lat, "lon": lon}
    else:
        p = {"lat": round(lat + rng.uniform(-0.05, 0.05), 5), "lon": round(lon + rng.uniform(-0.05, 0.05), 5)}
        q["location"] = p
        resolved = p
    if rng.random() < 0.3:
        q["require"] = rng.sample(FACETS, 1)
    if rng.random() < 0.2:
        q["age"] = rng.randint(12, 60)
    return q, resolved


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--services", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    zips = load_zips()
    rng = random.Random(args.seed)
    with open(os.path.join(args.out, "services.jsonl"), "w") as f:
        for i in range(args.services):
            f.write(json.dumps(service(rng, i, zips), separators=(",", ":")) + "\n")
    with open(os.path.join(args.out, "queries.jsonl"), "w") as fq, \
            open(os.path.join(args.out, "queries_resolved.jsonl"), "w") as fr:
        for _ in range(args.queries):
            q, resolved = query(rng, zips)
            fq.write(json.dumps(q, separators=(",", ":")) + "\n")
            fr.write(json.dumps({**q, "location": resolved}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
