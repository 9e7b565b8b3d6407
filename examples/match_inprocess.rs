//! A benchmark tool, not part of Haven: loads the matching index from the database, as
//! `haven serve` does at start, then answers every query of a query file as `/api/v1/match`
//! does (`Snapshot::answer_json`), on one thread, with no HTTP and no load generator
//! beside it. Prints one JSON line: microseconds per query for each pass, their median and
//! minimum, the spread of single queries in the last pass, and a digest of every answer's
//! bytes, which two builds that answer alike share.
//!
//! Without wrk and the kernel's networking on the same two cores, its passes agree to about
//! 1% on a quiet machine; separate runs of one build differ by up to 3% (each load lays the
//! index out anew), where `/match` under wrk moves by 5%. When other tenants of the host are
//! busy, passes of one run can differ by 2x. `bench/compare.sh` runs it, alternated, for
//! both builds when both have it.
//!
//! Usage: `DATABASE_URL=… match_inprocess QUERIES_FILE [PASSES]`

use std::hash::{DefaultHasher, Hasher};
use std::io::{BufRead, Error, ErrorKind};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use haven::boundaries::Boundaries;
use haven::config::DatabaseUrl;
use haven::matching::live::LiveIndex;
use haven::matching::query::{MatchQuery, MatchRequest, QueryContext};
use haven::matching::regions::RegionLocator;
use haven::zips::ZipCentroids;

/// The allocator `haven serve` runs with: the index's layout, and so its speed, depend on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Coarse cell size, as `haven serve` has it by default.
const CELL_KM: f64 = haven::config::DEFAULT_CELL_KM;

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| invalid("usage: match_inprocess QUERIES_FILE [PASSES]".into()))?;
    let passes: usize = match args.next() {
        Some(p) => p.parse().map_err(|e| invalid(format!("PASSES: {e}")))?,
        None => 5,
    };
    if passes == 0 {
        return Err(invalid("PASSES: at least 1".into()));
    }
    let url = std::env::var("DATABASE_URL").map_err(|_| invalid("set DATABASE_URL".into()))?;
    let url = DatabaseUrl::parse(&url).map_err(invalid)?;
    let boundaries = Boundaries::bundled();

    let loading = Instant::now();
    let mut conn = haven::db::connect(&url).map_err(|e| invalid(e.to_string()))?;
    let live = LiveIndex::new();
    live.full_load(&mut conn, boundaries)
        .map_err(|e| invalid(e.to_string()))?;
    let load_ms = loading.elapsed().as_millis();
    let snapshot = live.snapshot();

    // A fixed clock: open-now and stale capacity then answer alike in every run.
    let now: DateTime<Utc> = "2026-01-05T15:00:00Z"
        .parse()
        .map_err(|e| invalid(format!("clock: {e}")))?;
    let ctx = QueryContext {
        zips: ZipCentroids::bundled(),
        boundaries,
        cell_km: CELL_KM,
    };
    let mut queries = Vec::new();
    for (i, line) in std::io::BufReader::new(std::fs::File::open(&path)?)
        .lines()
        .enumerate()
    {
        let request: MatchRequest = serde_json::from_str(&line?)
            .map_err(|e| invalid(format!("{path} line {}: {e}", i + 1)))?;
        let query = MatchQuery::parse(request, &ctx, false, now)
            .map_err(|e| invalid(format!("{path} line {}: {e:?}", i + 1)))?;
        queries.push(query);
    }
    if queries.is_empty() {
        return Err(invalid(format!("{path} holds no queries")));
    }

    let locator = RegionLocator::bundled();
    let mut body = Vec::with_capacity(64 * 1024);
    let mut per_pass = Vec::with_capacity(passes);
    let mut digest = 0;
    // Each query's own time in the last pass: how far the slow ones sit from the median.
    let mut each = vec![Duration::ZERO; queries.len()];
    for _ in 0..passes {
        let mut hasher = DefaultHasher::new();
        // Only the answering is timed: hashing a 20 KB answer costs some 5% of answering it,
        // and `/api/v1/match` does not hash.
        let mut answering = Duration::ZERO;
        for (query, took) in queries.iter().zip(&mut each) {
            body.clear();
            let started = Instant::now();
            snapshot.answer_json(query, locator, boundaries, &mut body);
            *took = started.elapsed();
            answering += *took;
            hasher.write(&body);
        }
        per_pass.push(answering.as_secs_f64() * 1e6 / queries.len() as f64);
        digest = hasher.finish();
    }
    let mut sorted = per_pass.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    // The least disturbed pass: when other machines' load comes and goes, passes of one run
    // can differ by 2x, and the fastest is the best estimate of the code's own speed.
    let fastest = sorted[0];
    each.sort();
    let quantile_us = |q: f64| {
        let i = ((each.len() - 1) as f64 * q).round() as usize;
        (each[i].as_secs_f64() * 1e7).round() / 10.0
    };
    println!(
        "{{\"queries\": {}, \"passes\": {passes}, \"load_ms\": {load_ms}, \"us_per_query\": {:?}, \"median_us\": {median:.2}, \"min_us\": {fastest:.2}, \"last_pass_query_us\": {{\"p50\": {}, \"p90\": {}, \"p99\": {}, \"max\": {}}}, \"answer_digest\": \"{digest:016x}\"}}",
        queries.len(),
        per_pass
            .iter()
            .map(|v| (v * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        quantile_us(0.5),
        quantile_us(0.9),
        quantile_us(0.99),
        quantile_us(1.0),
    );
    Ok(())
}
