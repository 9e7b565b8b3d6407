// Converts the Census cartographic boundaries carried by the npm package us-atlas 3.0.1
// (TopoJSON, lon/lat, already simplified for 1:10,000,000) into the one GeoJSON-based file
// Haven embeds: seed/boundaries/us-regions.json.gz.
//
// Run once from this folder: `npm ci && node convert-boundaries.mjs`. The output is committed;
// Haven never runs this at build or run time.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { feature } from "topojson-client";

const atlas = JSON.parse(readFileSync("node_modules/us-atlas/counties-10m.json", "utf8"));
const atlasVersion = JSON.parse(readFileSync("node_modules/us-atlas/package.json", "utf8")).version;

// State FIPS code -> USPS / ISO 3166-2 subdivision code.
const STATE_CODES = {
  "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
  "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
  "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
  "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM",
  "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI",
  "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
  "54": "WV", "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
};

// 5 decimal places is about 1 m, finer than the source's quantization; it keeps the file small.
const round = (x) => Math.round(x * 1e5) / 1e5;
function roundGeometry(geometry) {
  const ring = (r) => r.map(([lon, lat]) => [round(lon), round(lat)]);
  if (geometry.type === "Polygon") return { type: "Polygon", coordinates: geometry.coordinates.map(ring) };
  if (geometry.type === "MultiPolygon") {
    return { type: "MultiPolygon", coordinates: geometry.coordinates.map((p) => p.map(ring)) };
  }
  throw new Error(`unexpected geometry type ${geometry.type}`);
}

const stateNames = {};
const regions = [];
for (const f of feature(atlas, atlas.objects.states).features) {
  const abbr = STATE_CODES[f.id];
  if (!abbr) throw new Error(`unknown state FIPS ${f.id}`);
  stateNames[f.id] = f.properties.name;
  regions.push({ code: `US-${abbr}`, kind: "state", name: f.properties.name, state: abbr, geometry: roundGeometry(f.geometry) });
}
for (const f of feature(atlas, atlas.objects.counties).features) {
  const abbr = STATE_CODES[f.id.slice(0, 2)];
  if (!abbr) throw new Error(`unknown state FIPS in county ${f.id}`);
  regions.push({ code: `US-${f.id}`, kind: "county", name: f.properties.name, state: abbr, geometry: roundGeometry(f.geometry) });
}
const nation = feature(atlas, atlas.objects.nation).features[0];
regions.push({ code: "US", kind: "nation", name: "United States", state: null, geometry: roundGeometry(nation.geometry) });

const out = {
  source: `U.S. Census Bureau cartographic boundary files (2017 vintage), as carried by the npm package us-atlas ${atlasVersion} (counties-10m.json); public domain data, ISC-licensed packaging`,
  regions,
};
const json = JSON.stringify(out);
writeFileSync("../boundaries/us-regions.json.gz", gzipSync(json, { level: 9 }));
console.log(`${regions.length} regions, ${json.length} bytes of JSON`);
