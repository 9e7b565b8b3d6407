//! The bundled US boundaries (nation, states, counties) that `region` and `national` coverage
//! refer to, and the region-name lookup. The data is compiled into the binary from
//! `seed/boundaries/us-regions.json.gz` (see `seed/README.md` for its source and vintage).

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use geo::{BoundingRect, LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

use crate::domain::coverage::{BoundingBox, GeometryInput, geometry_to_multi_polygon};

static BUNDLED_GZ: &[u8] = include_bytes!("../seed/boundaries/us-regions.json.gz");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    Nation,
    State,
    County,
}

#[derive(Debug)]
pub struct Region {
    /// `US`, `US-CA` (ISO 3166-2) or `US-06075` (county FIPS).
    pub code: String,
    pub kind: RegionKind,
    pub name: String,
    /// USPS code of the state a county or state belongs to.
    pub state: Option<String>,
    pub geometry: MultiPolygon<f64>,
    pub bbox: BoundingBox,
}

impl Region {
    /// "Alameda, CA": how a person would name it.
    pub fn label(&self) -> String {
        self.to_string()
    }
}

/// The region's label (see [`Region::label`]).
impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.state) {
            (RegionKind::County, Some(state)) => write!(f, "{}, {state}", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

pub struct Boundaries {
    regions: Vec<Region>,
    by_code: HashMap<String, usize>,
    pub source: String,
}

#[derive(Deserialize)]
struct RawFile {
    source: String,
    regions: Vec<RawRegion>,
}

#[derive(Deserialize)]
struct RawRegion {
    code: String,
    kind: RegionKind,
    name: String,
    state: Option<String>,
    geometry: GeometryInput,
}

/// Words people add to a county's name that the Census names leave out.
const COUNTY_WORDS: [&str; 5] = ["county", "parish", "borough", "census area", "municipality"];

impl Boundaries {
    /// The boundaries compiled into this binary, parsed once per process.
    pub fn bundled() -> &'static Boundaries {
        static BUNDLED: OnceLock<Boundaries> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            #[expect(
                clippy::expect_used,
                reason = "the embedded file is fixed at build time and checked by a unit test"
            )]
            Boundaries::from_gzip(BUNDLED_GZ).expect("bundled boundaries are readable")
        })
    }

    pub fn from_gzip(bytes: &[u8]) -> anyhow::Result<Boundaries> {
        let mut json = String::new();
        flate2::read::GzDecoder::new(bytes).read_to_string(&mut json)?;
        let raw: RawFile = serde_json::from_str(&json)?;
        let mut regions = Vec::with_capacity(raw.regions.len());
        for r in raw.regions {
            let geometry = without_degenerate_rings(geometry_to_multi_polygon(&r.geometry));
            let rect = geometry
                .bounding_rect()
                .ok_or_else(|| anyhow::anyhow!("region {} has an empty geometry", r.code))?;
            regions.push(Region {
                code: r.code,
                kind: r.kind,
                name: r.name,
                state: r.state,
                geometry,
                bbox: BoundingBox::from_rect(rect),
            });
        }
        let mut by_code: HashMap<String, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code.clone(), i))
            .collect();
        // A state is also named by its FIPS number ("US-06" for California), as Census data
        // and the county codes ("US-06075") name it.
        let by_number: Vec<(String, usize)> = regions
            .iter()
            .filter(|r| r.kind == RegionKind::County)
            .filter_map(|r| {
                let number = r.code.strip_prefix("US-")?.get(..2)?;
                let state = by_code.get(&format!("US-{}", r.state.as_ref()?))?;
                Some((format!("US-{number}"), *state))
            })
            .collect();
        for (code, state) in by_number {
            by_code.entry(code).or_insert(state);
        }
        Ok(Boundaries {
            regions,
            by_code,
            source: raw.source,
        })
    }

    pub fn get(&self, code: &str) -> Option<&Region> {
        self.by_code.get(code).and_then(|&i| self.regions.get(i))
    }

    /// Position of a region in [`Boundaries::regions`], a stable handle for indexes.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    pub fn nation(&self, country: &str) -> Option<&Region> {
        self.get(country).filter(|r| r.kind == RegionKind::Nation)
    }

    /// Regions whose name matches `query` ("alameda", "Alameda County, CA", "texas"): states
    /// before counties, names starting with the query before names containing it.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Region> {
        self.ranked(query)
            .into_iter()
            .take(limit)
            .map(|(_, r)| r)
            .collect()
    }

    /// The one region a person means by `typed` ("Harris County, TX", "texas", "TX", "US-48201"):
    /// the one it names exactly, or else the only one whose name holds it. "Texas" is the
    /// state; "Texas County" or "Texas, MO" a county, as is "New York, NY". Otherwise the
    /// candidates: none, or several (a shared name: Baltimore County and the city of
    /// Baltimore are both "Baltimore, MD").
    pub fn meant(&self, typed: &str) -> Result<&Region, Vec<&Region>> {
        // A state's USPS code alone ("TX", "tx"), as written after a county's comma.
        let code = typed.trim();
        if code.len() == 2
            && let Some(state) = self.regions.iter().find(|r| {
                r.kind == RegionKind::State
                    && r.state
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(code))
            })
        {
            return Ok(state);
        }
        // Spaces typed twice ("New  York") are one.
        let typed = typed.split_whitespace().collect::<Vec<_>>().join(" ");
        let typed = typed.as_str();
        let lower = typed.to_lowercase();
        let qualified = lower.contains(',');
        let says_county = qualified || lower.contains("county");
        // "Utah County" is the county, not the state of that name.
        let named: Vec<&Region> = self
            .named(typed)
            .into_iter()
            .filter(|r| !(says_county && r.kind == RegionKind::State))
            .collect();
        let mut states = named.iter().filter(|r| r.kind == RegionKind::State);
        if let (Some(state), None) = (states.next(), states.next())
            && !says_county
        {
            return Ok(state);
        }
        let mut hits = match named.as_slice() {
            [] => self.search(typed, 6),
            _ => named,
        };
        match hits.as_slice() {
            [_] => Ok(hits.remove(0)),
            _ => Err(hits),
        }
    }

    /// The regions `query` names exactly, by name or code ("Harris County, TX" is Harris,
    /// TX, and not Harrison, TX): one, or several where a name is shared ("Harris County").
    fn named(&self, query: &str) -> Vec<&Region> {
        self.ranked(query)
            .into_iter()
            .take_while(|(rank, _)| *rank < 2)
            .map(|(_, r)| r)
            .collect()
    }

    /// [`Boundaries::search`]'s matches with their rank: 0 and 1 an exact name or code (a
    /// state, a county), then names starting with the query, then names containing it.
    fn ranked(&self, query: &str) -> Vec<(u8, &Region)> {
        let query = query.trim().to_lowercase();
        let (name_part, state_part) = match query.split_once(',') {
            Some((name, state)) => (name.trim().to_string(), Some(state.trim().to_string())),
            None => (query.clone(), None),
        };
        let mut name = name_part;
        for word in COUNTY_WORDS {
            if let Some(stripped) = name.strip_suffix(word) {
                name = stripped.trim().to_string();
            }
        }
        if name.is_empty() {
            return Vec::new();
        }
        let state_filter = state_part.filter(|s| !s.is_empty()).map(|s| {
            self.regions
                .iter()
                .find(|r| {
                    r.kind == RegionKind::State
                        && (r.name.to_lowercase() == s
                            || r.state
                                .as_deref()
                                .is_some_and(|c| c.eq_ignore_ascii_case(&s)))
                })
                .and_then(|r| r.state.clone())
                .unwrap_or(s.to_uppercase())
        });
        // A code names its region exactly, a state's FIPS number ("US-06") too.
        let coded = self.get(&name.to_ascii_uppercase());
        let mut hits: Vec<(u8, &Region)> = self
            .regions
            .iter()
            .filter(|r| r.kind != RegionKind::Nation)
            .filter(|r| {
                state_filter
                    .as_ref()
                    .is_none_or(|s| r.state.as_ref() == Some(s))
            })
            .filter_map(|r| {
                let lower = r.name.to_lowercase();
                let code_match = coded.is_some_and(|c| std::ptr::eq(c, r));
                let rank = if code_match || lower == name {
                    0
                } else if lower.starts_with(&name) {
                    1
                } else if lower.contains(&name) {
                    2
                } else {
                    return None;
                };
                let kind_rank = if r.kind == RegionKind::State { 0 } else { 1 };
                Some((rank * 2 + kind_rank, r))
            })
            .collect();
        hits.sort_by(|(a, ra), (b, rb)| {
            a.cmp(b)
                .then_with(|| ra.name.cmp(&rb.name))
                .then_with(|| ra.code.cmp(&rb.code))
        });
        hits
    }
}

/// Whether simplification and rounding left `ring` with fewer than three distinct positions.
fn is_degenerate(ring: &LineString<f64>) -> bool {
    let mut points = ring.0.clone();
    points.dedup();
    points.len() < 4
}

/// Drops the rings that enclose nothing (tiny islands, such as the Farallons off San
/// Francisco): geo's predicates warn on each and leave their answers undefined. A region that
/// is nothing else (a few tiny independent cities, such as Falls Church, VA, at this scale)
/// keeps its outline, so that it can still be named.
fn without_degenerate_rings(geometry: MultiPolygon<f64>) -> MultiPolygon<f64> {
    if geometry.iter().all(|p| is_degenerate(p.exterior())) {
        return geometry;
    }
    geometry
        .into_iter()
        .filter(|p| !is_degenerate(p.exterior()))
        .map(|p| {
            let (exterior, holes) = p.into_inner();
            Polygon::new(
                exterior,
                holes.into_iter().filter(|h| !is_degenerate(h)).collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_named_by_its_fips_number_too() {
        let b = Boundaries::bundled();
        for (number, code) in [("US-06", "US-CA"), ("US-48", "US-TX"), ("US-72", "US-PR")] {
            assert_eq!(b.index_of(number), b.index_of(code), "{number}");
            assert!(b.index_of(number).is_some(), "{number}");
        }
        assert_eq!(b.get("US-06").map(|r| r.code.as_str()), Some("US-CA"));
        assert!(b.index_of("US-99").is_none());
        // Typed where a person names a place (the console's search).
        assert_eq!(
            b.meant("us-06").ok().map(|r| r.code.as_str()),
            Some("US-CA")
        );
        assert_eq!(
            b.search("US-06", 3).first().map(|r| r.code.as_str()),
            Some("US-CA")
        );
    }

    #[test]
    fn bundled_regions_keep_no_degenerate_ring_beside_real_ones() {
        let mut tiny = Vec::new();
        for region in Boundaries::bundled().regions() {
            let rings: Vec<_> = region
                .geometry
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .collect();
            if rings.iter().all(|r| is_degenerate(r)) {
                tiny.push(region.code.as_str());
            } else {
                assert!(!rings.iter().any(|r| is_degenerate(r)), "{}", region.code);
            }
        }
        assert!(tiny.contains(&"US-51610") && tiny.len() < 20, "{tiny:?}");
    }

    #[test]
    fn bundled_boundaries_load_with_states_and_counties() {
        let b = Boundaries::bundled();
        let ca = b.get("US-CA").unwrap();
        assert_eq!(ca.name, "California");
        assert_eq!(b.get("US-06075").unwrap().name, "San Francisco");
        assert!(b.nation("US").is_some());
        assert!(b.get("US-ZZ").is_none());
        assert!(
            b.regions
                .iter()
                .filter(|r| r.kind == RegionKind::State)
                .count()
                >= 51
        );
        assert!(
            b.regions
                .iter()
                .filter(|r| r.kind == RegionKind::County)
                .count()
                > 3000
        );
    }

    #[test]
    fn search_finds_counties_by_everyday_names() {
        let b = Boundaries::bundled();
        let hits = b.search("Alameda County, CA", 10);
        assert_eq!(hits.first().map(|r| r.code.as_str()), Some("US-06001"));
        let hits = b.search("texas", 10);
        assert_eq!(hits.first().map(|r| r.code.as_str()), Some("US-TX"));
        assert!(b.search("   ", 10).is_empty());
        let codes =
            |query: &str| -> Vec<&str> { b.named(query).iter().map(|r| r.code.as_str()).collect() };
        assert_eq!(codes("Harris County, TX"), ["US-48201"]);
        assert_eq!(codes("harris county"), ["US-13145", "US-48201"]);
        assert_eq!(codes("us-48201"), ["US-48201"]);
        assert!(codes("Harri").is_empty());
        let meant = |typed: &str| b.meant(typed).map(|r| r.code.as_str()).map_err(|c| c.len());
        assert_eq!(meant("texas"), Ok("US-TX"));
        assert_eq!(meant("Harris County, TX"), Ok("US-48201"));
        assert_eq!(meant("New York, NY"), Ok("US-36061"));
        assert_eq!(meant("Baltimore, MD"), Err(2));
    }
}
