//! Which bundled regions (nation, states, counties) cover a point, for `region` and
//! `national` coverage. Built once per process from the bundled boundaries.

use std::sync::OnceLock;

use geo::Point;
use rstar::{AABB, RTree, RTreeObject};

use super::shape::{Shape, point_envelope};
use crate::boundaries::{Boundaries, RegionKind};
use crate::domain::Coordinates;
use crate::domain::coordinates::EARTH_RADIUS_KM;

struct RegionEntry {
    envelope: AABB<Point<f64>>,
    region: u32,
}

impl RTreeObject for RegionEntry {
    type Envelope = AABB<Point<f64>>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

pub struct RegionLocator {
    tree: RTree<RegionEntry>,
    shapes: Vec<Shape>,
    /// For each county, the regions a point in it is in: the nation, its state and itself
    /// (empty for the other regions).
    county_chains: Vec<Vec<u32>>,
}

/// How far off the outlines a point still counts as in the nearest county: 12 nautical miles,
/// the territorial sea. The bundled outlines are simplified for 1:10,000,000, so they leave
/// out piers, barrier islands and waterfront blocks (the centroids of ZIP codes 60611 in
/// Chicago and 33109 in Miami Beach fall outside every county), and a coarse cell's centre or
/// a phone's position can be on the water.
pub const SHORE_KM: f64 = 22.2;

impl RegionLocator {
    pub fn bundled() -> &'static RegionLocator {
        static LOCATOR: OnceLock<RegionLocator> = OnceLock::new();
        LOCATOR.get_or_init(|| RegionLocator::new(Boundaries::bundled()))
    }

    pub fn new(boundaries: &Boundaries) -> RegionLocator {
        let shapes: Vec<Shape> = boundaries
            .regions()
            .iter()
            .map(|r| Shape::new(r.geometry.clone()))
            .collect();
        let entries = shapes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let rect = s.bounding_box()?;
                Some(RegionEntry {
                    envelope: AABB::from_corners(rect.min().into(), rect.max().into()),
                    region: u32::try_from(i).ok()?,
                })
            })
            .collect();
        RegionLocator {
            tree: RTree::bulk_load(entries),
            shapes,
            county_chains: county_chains(boundaries),
        }
    }

    /// Regions (by index in [`Boundaries::regions`]) that cover the point, boundary included.
    /// A point in no county but within [`SHORE_KM`] of one is in the nearest county, its
    /// state and the nation.
    pub fn regions_at(&self, point: Coordinates) -> Vec<u32> {
        let mut found: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&point_envelope(point))
            .filter(|e| self.shape(e.region).is_some_and(|s| s.covers(point)))
            .map(|e| e.region)
            .collect();
        if !found.iter().any(|r| self.is_county(*r))
            && let Some(county) = self.nearest_county(point, SHORE_KM)
            && let Some(chain) = self.county_chains.get(county as usize)
        {
            found.extend(chain);
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    fn is_county(&self, region: u32) -> bool {
        self.county_chains
            .get(region as usize)
            .is_some_and(|chain| !chain.is_empty())
    }

    /// The county nearest the point within `km`, for a point in none.
    fn nearest_county(&self, point: Coordinates, km: f64) -> Option<u32> {
        let mut counties: Vec<u32> = wrapped(envelope_around(point, km))
            .flat_map(|envelope| self.tree.locate_in_envelope_intersecting(&envelope))
            .map(|e| e.region)
            .filter(|r| self.is_county(*r))
            .collect();
        counties.sort_unstable();
        counties.dedup();
        let mut near: Vec<(f64, u32)> = counties
            .into_iter()
            .filter_map(|r| Some((self.shape(r)?.box_distance_km(point), r)))
            .filter(|(box_km, _)| *box_km <= km)
            .collect();
        // Box distances are lower bounds: the exact distance (costly) is asked only of
        // counties whose box is nearer than the nearest county found so far.
        near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut best: Option<(f64, u32)> = None;
        for (box_km, region) in near {
            if best.is_some_and(|(best_km, _)| box_km > best_km) {
                break;
            }
            let Some(exact) = self
                .shape(region)
                .and_then(|s| s.distance_within_km(point, km))
            else {
                continue;
            };
            if best.is_none_or(|(best_km, _)| exact < best_km) {
                best = Some((exact, region));
            }
        }
        best.map(|(_, region)| region)
    }

    /// Regions that `wanted` accepts within `km` of the point that do not cover it, with
    /// their distance (measured only for those `wanted` accepts).
    pub fn regions_near(
        &self,
        point: Coordinates,
        km: f64,
        wanted: impl Fn(u32) -> bool,
    ) -> Vec<(u32, f64)> {
        let mut regions: Vec<u32> = wrapped(envelope_around(point, km))
            .flat_map(|envelope| self.tree.locate_in_envelope_intersecting(&envelope))
            .map(|e| e.region)
            .filter(|r| wanted(*r))
            .collect();
        // A region as wide as the world meets both halves of a box split at 180°.
        regions.sort_unstable();
        regions.dedup();
        regions
            .into_iter()
            .filter_map(|r| {
                let distance = self.shape(r)?.distance_within_km(point, km)?;
                (distance > 0.0).then_some((r, distance))
            })
            .collect()
    }

    pub fn shape(&self, region: u32) -> Option<&Shape> {
        self.shapes.get(region as usize)
    }
}

/// Each county's chain (nation, state, county); empty for other regions.
fn county_chains(boundaries: &Boundaries) -> Vec<Vec<u32>> {
    let regions = boundaries.regions();
    let index = |i: usize| u32::try_from(i).ok();
    let nation = regions
        .iter()
        .position(|r| r.kind == RegionKind::Nation)
        .and_then(index);
    let states: std::collections::HashMap<&str, u32> = regions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == RegionKind::State)
        .filter_map(|(i, r)| Some((r.state.as_deref()?, index(i)?)))
        .collect();
    let state_of = |code: &Option<String>| states.get(code.as_deref()?).copied();
    regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.kind != RegionKind::County {
                return Vec::new();
            }
            [nation, state_of(&r.state), index(i)]
                .into_iter()
                .flatten()
                .collect()
        })
        .collect()
}

/// The box, and its part past the antimeridian moved back by a full turn, if it has one.
pub fn wrapped(envelope: AABB<Point<f64>>) -> impl Iterator<Item = AABB<Point<f64>>> {
    let (lower, upper) = (envelope.lower(), envelope.upper());
    let turn = if upper.x() > 180.0 {
        Some(-360.0)
    } else if lower.x() < -180.0 {
        Some(360.0)
    } else {
        None
    };
    let moved = turn.map(|t| {
        AABB::from_corners(
            Point::new(lower.x() + t, lower.y()),
            Point::new(upper.x() + t, upper.y()),
        )
    });
    std::iter::once(envelope).chain(moved)
}

/// A lon/lat box that holds every point within `km` of `point`: every longitude when that
/// reach takes in a pole.
pub fn envelope_around(point: Coordinates, km: f64) -> AABB<Point<f64>> {
    let angle = km / EARTH_RADIUS_KM;
    // A hair wider than exact, so that rounding never leaves a point on the rim outside.
    let slack = 1e-9;
    let dlat = angle.to_degrees() + slack;
    // Points within the angle span asin(sin(angle) / cos(lat)) of longitude either way (not
    // angle / cos(lat), which is less, far less near a pole); once sin(angle) reaches
    // cos(lat), the reach takes in the pole and with it every longitude.
    let (sin, cos) = (angle.sin(), point.lat().to_radians().cos());
    let dlon = if angle >= std::f64::consts::FRAC_PI_2 || sin >= cos {
        360.0
    } else {
        (sin / cos).asin().to_degrees() + slack
    };
    AABB::from_corners(
        Point::new(point.lon() - dlon, (point.lat() - dlat).max(-90.0)),
        Point::new(point.lon() + dlon, (point.lat() + dlat).min(90.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Coordinates {
        Coordinates::new(lat, lon).unwrap_or_else(|_| panic!("bad test point {lat},{lon}"))
    }

    fn codes(regions: &[u32]) -> Vec<&'static str> {
        let all = Boundaries::bundled().regions();
        let mut codes: Vec<&str> = regions
            .iter()
            .map(|r| all[*r as usize].code.as_str())
            .collect();
        codes.sort_unstable();
        codes
    }

    #[test]
    fn a_point_inside_a_county_is_in_it_its_state_and_the_nation_only() {
        let locator = RegionLocator::bundled();
        // Downtown Oakland and rural Kansas.
        assert_eq!(
            codes(&locator.regions_at(at(37.8044, -122.2712))),
            ["US", "US-06001", "US-CA"]
        );
        assert_eq!(
            codes(&locator.regions_at(at(38.5, -98.5))),
            ["US", "US-20009", "US-KS"]
        );
    }

    #[test]
    fn waterfront_places_the_outlines_cut_off_are_in_the_nearest_county() {
        let locator = RegionLocator::bundled();
        // ZIP centroids outside every simplified county: Streeterville in Chicago, Miami
        // Beach, Evanston; and a point just off San Francisco's Ocean Beach.
        for (point, expected) in [
            (at(41.894742, -87.615073), ["US", "US-17031", "US-IL"]),
            (at(25.761184, -80.130777), ["US", "US-12086", "US-FL"]),
            (at(42.053554, -87.670259), ["US", "US-17031", "US-IL"]),
            (at(37.75, -122.55), ["US", "US-06075", "US-CA"]),
        ] {
            assert!(
                !locator.shapes.iter().any(|s| s.covers(point)),
                "{point:?} is inside an outline: it tests nothing"
            );
            assert_eq!(codes(&locator.regions_at(point)), expected, "{point:?}");
        }
    }

    /// Regions near a point are looked for the short way round at 180°, and one with parts
    /// on both sides is found once. (The bundled regions that reach 180° span every
    /// longitude, so these are made up.)
    #[test]
    fn regions_near_are_found_across_the_antimeridian() {
        let rectangle = |west: f64, east: f64| {
            format!(
                r#"[[[{west}, 51.0], [{east}, 51.0], [{east}, 52.0], [{west}, 52.0], [{west}, 51.0]]]"#
            )
        };
        let region = |code: &str, polygons: &[String]| {
            format!(
                r#"{{"code": "{code}", "kind": "county", "name": "{code}", "state": "AK",
                    "geometry": {{"type": "MultiPolygon", "coordinates": [{}]}}}}"#,
                polygons.join(", ")
            )
        };
        let json = format!(
            r#"{{"source": "test", "regions": [{}, {}, {}]}}"#,
            region("EAST", &[rectangle(179.3, 179.7)]),
            region("WEST", &[rectangle(-179.7, -179.3)]),
            region(
                "BOTH",
                &[rectangle(179.98, 180.0), rectangle(-180.0, -179.98)]
            ),
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, json.as_bytes()).unwrap();
        let boundaries = Boundaries::from_gzip(&gz.finish().unwrap()).unwrap();
        let locator = RegionLocator::new(&boundaries);
        // Between the two, outside all three.
        for point in [at(51.5, -179.9), at(51.5, 179.9)] {
            let mut near: Vec<&str> = locator
                .regions_near(point, 100.0, |_| true)
                .iter()
                .map(|(r, _)| boundaries.regions()[*r as usize].code.as_str())
                .collect();
            near.sort_unstable();
            assert_eq!(near, ["BOTH", "EAST", "WEST"], "{point:?}");
        }
    }

    #[test]
    fn off_shore_counties_are_seen_across_the_antimeridian() {
        let locator = RegionLocator::bundled();
        // In the Bering Sea by the Rat Islands, a few kilometres either side of 180.
        for point in [
            at(51.9, 179.999),
            at(51.9, -179.999),
            at(51.9, 180.0),
            at(51.9, -180.0),
        ] {
            assert_eq!(
                codes(&locator.regions_at(point)),
                ["US", "US-02016", "US-AK"],
                "{point:?}"
            );
        }
    }

    #[test]
    fn open_water_beyond_the_shore_allowance_is_in_no_region() {
        let locator = RegionLocator::bundled();
        // Mid-Atlantic; the middle of Lake Michigan; 40 km off Cape Cod.
        for point in [at(35.0, -60.0), at(43.5, -87.2), at(41.8, -69.45)] {
            assert_eq!(
                codes(&locator.regions_at(point)),
                Vec::<&str>::new(),
                "{point:?}"
            );
        }
    }

    #[test]
    fn off_the_outlines_the_regions_are_those_of_a_scan_of_every_region() {
        let locator = RegionLocator::bundled();
        let boundaries = Boundaries::bundled();
        let mut checked = 0;
        // Around coastal and lakeside places, at sea and on land alike.
        for (lat, lon) in [
            (41.894742, -87.615073),
            (25.761184, -80.130777),
            (37.75, -122.55),
            (44.112753, -68.357532),
            (36.331206, -75.851203),
            (26.537104, -82.121707),
            (46.452414, -86.901161),
            (18.46446, -66.094995),
            (37.001772, -76.309871),
            (21.3, -157.95),
            (51.9, -179.8),
        ] {
            for (dlat, dlon) in [
                (0.0, 0.0),
                (0.05, 0.05),
                (-0.05, 0.1),
                (0.1, -0.1),
                (0.0, 0.2),
            ] {
                let point = at(lat + dlat, lon + dlon);
                let found = locator.regions_at(point);
                let expected = super::super::tests::regions_by_scan(point, boundaries);
                assert_eq!(
                    found.iter().map(|r| *r as usize).collect::<Vec<_>>(),
                    expected.into_iter().collect::<Vec<_>>(),
                    "{point:?}"
                );
                if !locator.shapes.iter().any(|s| s.covers(point)) {
                    checked += 1;
                }
            }
        }
        assert!(checked >= 10, "only {checked} points off the outlines");
    }

    proptest::proptest! {
        /// Every point within the reach is in the box (or its copy a turn away), at any
        /// latitude: near a pole the box spans far more longitude than reach / cos(lat), and
        /// every longitude once the reach takes in the pole.
        #[test]
        fn the_box_around_a_point_holds_every_point_within_reach(
            lat in proptest::prop_oneof![-89.99..89.99f64, 85.0..89.99f64, -89.99..-85.0f64],
            lon in -180.0..180.0f64,
            bearing in 0.0..360.0f64,
            km in 1.0..400.0f64,
            part in 0.0..=1.0f64,
        ) {
            use geo::{Destination, Haversine};
            let point = at(lat, lon);
            let to = Haversine.destination(point.to_point(), bearing, km * part * 1000.0);
            let to = at(to.y().clamp(-90.0, 90.0), to.x().clamp(-180.0, 180.0));
            proptest::prop_assume!(crate::domain::coordinates::haversine_km(point, to) <= km);
            let held = wrapped(envelope_around(point, km))
                .any(|b| rstar::Envelope::contains_point(&b, &to.to_point()));
            proptest::prop_assert!(held, "{to:?} is {km} km or less from {point:?}");
        }
    }
}
