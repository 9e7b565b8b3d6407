//! The index against a brute-force scan of the same random directory.

use std::collections::BTreeSet;
use std::sync::Arc;

use geo::{Coord, Intersects, LineString, MultiPolygon, Polygon};
use proptest::prelude::*;
use uuid::Uuid;

use super::index::{AddressView, Hit, Index, OrganizationView, Probe, Reach, ServiceInput, Site};
use super::outline::{polar_ring, rounded};
use super::query::{LocationSource, MAX_LIMIT, MatchQuery, NeedSet, snap};
use super::reason::Reason;
use super::regions::{RegionLocator, SHORE_KM};
use super::{Candidate, Candidates, Snapshot};
use crate::boundaries::{Boundaries, RegionKind};
use crate::domain::coordinates::{haversine_km, unit_vector};
use crate::domain::coverage::{AreaGeometry, Coverage};
use crate::domain::eligibility::Eligibility;
use crate::domain::{Coordinates, Need};

fn coords(lat: f64, lon: f64) -> Coordinates {
    Coordinates::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)).unwrap()
}

/// A star-shaped ring around (lat, lon): never self-intersecting, so valid by construction as
/// long as it stays inside the coordinate range (the strategies below make sure of that).
/// Rings with an even number of vertices are rounded to six decimals, as boundary files are,
/// so both of an outline's vertex forms are exercised.
fn star(lat: f64, lon: f64, radii: &[f64]) -> LineString<f64> {
    let decimals = radii.len().is_multiple_of(2).then_some(6);
    polar_ring(Coord { x: lon, y: lat }, radii, |c| Coord {
        x: rounded(c.x, decimals).clamp(-180.0, 180.0),
        y: rounded(c.y, decimals).clamp(-90.0, 90.0),
    })
}

#[derive(Debug, Clone)]
enum Spec {
    Radius(f64, f64, f64),
    /// Centre, outer radii, and whether to cut a hole / add a second part.
    Area(f64, f64, Vec<f64>, bool, bool),
    Region(usize),
    National,
}

fn spec() -> impl Strategy<Value = Spec> {
    // Points cluster in a few places, including near a pole and the antimeridian.
    let lat = prop_oneof![25.0..50.0f64, 85.0..90.0f64, -10.0..10.0f64];
    let lon = prop_oneof![-125.0..-65.0f64, 175.0..180.0f64, -180.0..-175.0f64];
    prop_oneof![
        4 => (lat.clone(), lon.clone(), 0.5..500.0f64).prop_map(|(a, o, r)| Spec::Radius(a, o, r)),
        // Areas stay inside the valid range (the API refuses anything else); -177/177 and
        // 84 degrees keep their edges close to the antimeridian and the pole.
        2 => (prop_oneof![25.0..50.0f64, 80.0..84.0f64, -10.0..10.0f64], prop_oneof![-125.0..-65.0f64, 173.0..177.0f64, -177.0..-173.0f64],
              prop_oneof![9 => prop::collection::vec(0.2..3.0f64, 3..300), 1 => prop::collection::vec(0.2..3.0f64, 4100..4400)], any::<bool>(), any::<bool>())
            .prop_map(|(a, o, radii, hole, multi)| Spec::Area(a, o, radii, hole, multi)),
        1 => (0usize..3300).prop_map(Spec::Region),
        1 => Just(Spec::National),
    ]
}

/// The `i`th state or county (wrapping): region coverage is one of those, as the API takes it;
/// the whole country is `national` coverage, and a region code for it is refused.
fn region_of(i: usize, boundaries: &Boundaries) -> &crate::boundaries::Region {
    let regions: Vec<_> = boundaries
        .regions()
        .iter()
        .filter(|r| r.kind != RegionKind::Nation)
        .collect();
    regions[i % regions.len()]
}

fn build(spec: &Spec, boundaries: &Boundaries) -> Coverage {
    match spec {
        Spec::Radius(lat, lon, r) => Coverage::Radius {
            center: coords(*lat, *lon),
            radius_km: *r,
        },
        Spec::Area(lat, lon, radii, hole, multi) => {
            let inner: Vec<f64> = radii.iter().map(|_| 0.05).collect();
            let holes = if *hole {
                vec![star(*lat, *lon, &inner)]
            } else {
                vec![]
            };
            let mut polygons = vec![Polygon::new(star(*lat, *lon, radii), holes)];
            if *multi {
                polygons.push(Polygon::new(star(*lat - 8.0, *lon, &radii[..3]), vec![]));
            }
            Coverage::Area {
                geometry: AreaGeometry::MultiPolygon(MultiPolygon::new(polygons)),
            }
        }
        Spec::Region(i) => Coverage::Region {
            code: region_of(*i, boundaries).code.clone(),
        },
        Spec::National => Coverage::National {
            country: "US".into(),
        },
    }
}

/// Needs spread over the codes, 1 to 3 per service and 6 for every eleventh, so services
/// sit in several need trees, and some in the broad ones.
fn needs_of(id: u128) -> NeedSet {
    let all = Need::ALL;
    let n = all.len() as u128;
    let more = if id % 11 == 10 { 5 } else { id % 3 };
    let picked: Vec<Need> = (0..=more)
        .map(|k| all[((id * 7 + k * 5) % n) as usize])
        .collect();
    NeedSet::of(&picked)
}

fn input(id: u128, coverage: Vec<Coverage>) -> ServiceInput {
    ServiceInput {
        id: Uuid::from_u128(id),
        name: format!("s{id}"),
        organization: Arc::new(OrganizationView {
            id: Uuid::nil(),
            name: "org".into(),
        }),
        needs: needs_of(id),
        eligibility: Eligibility::default(),
        languages: vec![],
        site: Site::None,
        phones: vec![],
        schedules: vec![],
        capacity: None,
        verified_at: None,
        demo: false,
        coverage,
    }
}

/// What covers the point by the definition, entry by entry, with no index.
fn brute_force(coverage: &Coverage, at: Coordinates, boundaries: &Boundaries) -> bool {
    match coverage {
        Coverage::Radius { center, radius_km } => haversine_km(at, *center) <= *radius_km,
        Coverage::Area { geometry } => geometry.to_multi_polygon().intersects(&at.to_point()),
        Coverage::Region { code } | Coverage::National { country: code } => boundaries
            .index_of(code)
            .is_some_and(|i| regions_by_scan(at, boundaries).contains(&i)),
    }
}

/// The distance from `point` to the straight line in longitude and latitude from `a` to `b`,
/// by the definition: the nearest of 64 points along it, then closed in on around it.
pub(super) fn distance_to_line_by_search(point: Coordinates, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let at = |t: f64| {
        let c = a + (b - a) * t.clamp(0.0, 1.0);
        haversine_km(point, coords(c.y, c.x))
    };
    let steps = 64;
    let best = (0..=steps)
        .map(|i| f64::from(i) / f64::from(steps))
        .min_by(|x, y| at(*x).total_cmp(&at(*y)))
        .unwrap_or(0.0);
    // Within the edge only: past its ends the distance is flat, and a flat stretch would
    // lead the search away from a minimum just inside an end.
    let step = 1.0 / f64::from(steps);
    let (mut lo, mut hi) = ((best - step).max(0.0), (best + step).min(1.0));
    for _ in 0..80 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if at(m1) <= at(m2) {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    at((lo + hi) / 2.0).min(at(best))
}

/// The distance from a point outside an area to its nearest edge, when at most `km`
/// (infinity otherwise). Edges further in latitude alone are passed over.
fn distance_to_area_by_search(geometry: &MultiPolygon<f64>, at: Coordinates, km: f64) -> f64 {
    let degrees = (km / crate::domain::coordinates::EARTH_RADIUS_KM).to_degrees();
    geometry
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.lines())
        .filter(|l| {
            let (low, high) = (l.start.y.min(l.end.y), l.start.y.max(l.end.y));
            at.lat() >= low - degrees && at.lat() <= high + degrees
        })
        .map(|l| distance_to_line_by_search(at, l.start, l.end))
        .fold(f64::INFINITY, f64::min)
}

/// How far the point is outside the coverage by the definition, with no index: 0 when it
/// covers the point, infinity when it misses by more than `km`.
fn gap_by_definition(
    coverage: &Coverage,
    at: Coordinates,
    km: f64,
    boundaries: &Boundaries,
) -> f64 {
    if brute_force(coverage, at, boundaries) {
        return 0.0;
    }
    match coverage {
        Coverage::Radius { center, radius_km } => haversine_km(at, *center) - radius_km,
        Coverage::Area { geometry } => {
            distance_to_area_by_search(&geometry.to_multi_polygon(), at, km)
        }
        Coverage::Region { code } | Coverage::National { country: code } => {
            boundaries.get(code).map_or(f64::INFINITY, |r| {
                distance_to_area_by_search(&r.geometry, at, km)
            })
        }
    }
}

/// The regions at a point by a scan of every region: those whose outline holds it, or, for a
/// point in no county, the county nearest within `SHORE_KM` with its state and the nation.
/// Remembered per point: each point is asked about many services.
pub(super) fn regions_by_scan(at: Coordinates, boundaries: &Boundaries) -> BTreeSet<usize> {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<(u64, u64), BTreeSet<usize>>> =
            Default::default();
    }
    let key = (at.lat().to_bits(), at.lon().to_bits());
    if let Some(found) = SEEN.with(|seen| seen.borrow().get(&key).cloned()) {
        return found;
    }
    let regions = boundaries.regions();
    let p = at.to_point();
    let locator = RegionLocator::bundled();
    let mut found: BTreeSet<usize> = (0..regions.len())
        .filter(|i| {
            let in_box = locator.shape(*i as u32).and_then(|s| s.bounding_box());
            in_box.is_some_and(|b| b.intersects(&p)) && regions[*i].geometry.intersects(&p)
        })
        .collect();
    if !found.iter().any(|i| regions[*i].kind == RegionKind::County) {
        let nearest = (0..regions.len())
            .filter(|i| regions[*i].kind == RegionKind::County)
            .filter_map(|i| Some((locator.shape(i as u32)?, i)))
            // The box distance is a lower bound: no county within reach is passed over.
            .filter(|(shape, _)| shape.box_distance_km(at) <= SHORE_KM)
            .filter_map(|(shape, i)| Some((shape.distance_within_km(at, SHORE_KM)?, i)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if let Some((_, county)) = nearest {
            let state = &regions[county].state;
            found.insert(county);
            found.extend((0..regions.len()).filter(|i| {
                let r = &regions[*i];
                r.kind == RegionKind::Nation || (r.kind == RegionKind::State && r.state == *state)
            }));
        }
    }
    SEEN.with(|seen| seen.borrow_mut().insert(key, found.clone()));
    found
}

fn query_points(specs: &[Spec], extra: &[(f64, f64)], boundaries: &Boundaries) -> Vec<Coordinates> {
    let mut points: Vec<Coordinates> = extra.iter().map(|(a, o)| coords(*a, *o)).collect();
    for s in specs {
        match s {
            // On and just around the rim of a radius.
            Spec::Radius(lat, lon, r) => {
                let d = (r / crate::domain::coordinates::EARTH_RADIUS_KM).to_degrees();
                points.extend([
                    coords(*lat, *lon),
                    coords(lat + d, *lon),
                    coords(lat - d * 0.999, *lon),
                    coords(*lat, lon + d),
                ]);
            }
            // Vertices and edge midpoints of areas.
            Spec::Area(lat, lon, radii, _, _) => {
                let ring = star(*lat, *lon, radii);
                let c = &ring.0;
                points.extend([
                    coords(c[0].y, c[0].x),
                    coords((c[0].y + c[1].y) / 2.0, (c[0].x + c[1].x) / 2.0),
                    coords(*lat, *lon),
                ]);
            }
            // A vertex of a region's boundary: on the edge of it and of its neighbours.
            Spec::Region(i) => {
                if let Some(c) = region_of(*i, boundaries)
                    .geometry
                    .0
                    .first()
                    .and_then(|p| p.exterior().0.get(1))
                {
                    points.push(coords(c.y, c.x));
                }
            }
            Spec::National => {}
        }
    }
    points
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_index_agrees_with_a_brute_force_scan(
        specs in prop::collection::vec(spec(), 1..40),
        extra in prop::collection::vec((-90.0..90.0f64, -180.0..180.0f64), 0..20),
        asked in 1u16..4096,
    ) {
        let boundaries = Boundaries::bundled();
        let locator = RegionLocator::bundled();
        let coverage: Vec<Coverage> = specs.iter().map(|s| build(s, boundaries)).collect();
        let inputs = coverage.iter().enumerate().map(|(i, c)| input(i as u128, vec![c.clone()])).collect();
        let index = Index::build(inputs, boundaries);
        let nation = boundaries.index_of("US").map(|i| i as u32);
        for at in query_points(&specs, &extra, boundaries) {
            let regions = locator.regions_at(at);
            let probe = Probe { point: at, point_regions: &regions, cell: at, cell_regions: &[], nation, needs: NeedSet(asked) };
            let mut hits = Vec::new();
            index.covering(&probe, |_, _| true, |hit: Hit| hits.push((hit.service, hit.reach)));
            let found: BTreeSet<u32> =
                hits.iter().filter(|(_, r)| *r != Reach::OutsideNation).map(|(s, _)| *s).collect();
            // Radius and area entries are filtered by the needs asked; each service once.
            let local_hits = hits.iter().filter(|(_, r)| matches!(r, Reach::Radius { .. } | Reach::Area)).count();
            let local_found = hits.iter().filter(|(_, r)| matches!(r, Reach::Radius { .. } | Reach::Area)).map(|(s, _)| *s).collect::<BTreeSet<_>>().len();
            prop_assert_eq!(local_hits, local_found, "a service came back twice");
            let expected: BTreeSet<u32> = coverage
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    let local = matches!(c, Coverage::Radius { .. } | Coverage::Area { .. });
                    (!local || needs_of(*i as u128).0 & asked != 0) && brute_force(c, at, boundaries)
                })
                .map(|(i, _)| i as u32)
                .collect();
            prop_assert_eq!(&found, &expected, "at {:?}", at);
            // National services come back wherever the point is: outside their country, as
            // such.
            let outside: BTreeSet<u32> =
                hits.iter().filter(|(_, r)| *r == Reach::OutsideNation).map(|(s, _)| *s).collect();
            let expected_outside: BTreeSet<u32> = coverage
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Coverage::National { .. }) && !brute_force(c, at, boundaries))
                .map(|(i, _)| i as u32)
                .collect();
            prop_assert_eq!(&outside, &expected_outside, "outside, at {:?}", at);
            for (s, reach) in hits {
                let is_national = matches!(coverage[s as usize], Coverage::National { .. });
                prop_assert_eq!(matches!(reach, Reach::National | Reach::OutsideNation), is_national);
            }
        }
    }
}

/// Where a generated service is: nowhere given, public at its radius centre (or at a point
/// near its coverage), public a little away from it, or confidential.
#[derive(Debug, Clone, Copy)]
enum SiteSpec {
    None,
    AtCentre,
    Away(f64, f64),
    Confidential,
}

fn site_spec() -> impl Strategy<Value = SiteSpec> {
    prop_oneof![
        Just(SiteSpec::None),
        Just(SiteSpec::AtCentre),
        (-0.5..0.5f64, -0.5..0.5f64).prop_map(|(a, o)| SiteSpec::Away(a, o)),
        Just(SiteSpec::Confidential),
    ]
}

fn centre_of(spec: &Spec) -> (f64, f64) {
    match spec {
        Spec::Radius(lat, lon, _) | Spec::Area(lat, lon, _, _, _) => (*lat, *lon),
        Spec::Region(_) | Spec::National => (39.0, -98.0),
    }
}

fn site_of(spec: &Spec, site: SiteSpec) -> (Site, Option<Coordinates>) {
    let (lat, lon) = centre_of(spec);
    let public = |at: Coordinates| Site::Public {
        at,
        address: AddressView::default(),
    };
    match site {
        SiteSpec::None => (Site::None, None),
        SiteSpec::AtCentre => (public(coords(lat, lon)), Some(coords(lat, lon))),
        SiteSpec::Away(dlat, dlon) => {
            let at = coords(lat + dlat, lon + dlon);
            (public(at), Some(at))
        }
        SiteSpec::Confidential => (
            Site::Confidential {
                front_door: AddressView::default(),
            },
            None,
        ),
    }
}

/// The rank key by the definition: km to a public site; else the upper bound of the distance
/// band to a radius centre; 0 inside an area or region; national last.
fn expected_key(
    coverage: &Coverage,
    site: Option<Coordinates>,
    at: Coordinates,
    point: Coordinates,
) -> f64 {
    if let Some(site) = site {
        return haversine_km(point, site);
    }
    match coverage {
        Coverage::Radius { center, .. } => {
            let km = haversine_km(at, *center);
            [5.0, 10.0, 25.0, 50.0, 100.0]
                .into_iter()
                .find(|b| km <= *b)
                .unwrap_or(f64::INFINITY)
        }
        Coverage::National { .. } => f64::INFINITY,
        Coverage::Region { code } if code == "US" => f64::INFINITY,
        _ => 0.0,
    }
}

/// A generated service: coverage, site, facets and minimum age.
type ServiceSpec = (Spec, SiteSpec, u16, Option<u8>);

/// Whole answers at `points`, ranking included, against the definition; a third of the
/// services live in the overlay (hiding their base copies), so ties across the two are ranked
/// too.
fn answers_rank_by_definition(
    services: &[ServiceSpec],
    points: &[Coordinates],
    asked: u16,
    age: Option<u8>,
    require: u16,
    limit: usize,
) -> Result<(), TestCaseError> {
    let boundaries = Boundaries::bundled();
    let locator = RegionLocator::bundled();
    let coverage: Vec<Coverage> = services.iter().map(|s| build(&s.0, boundaries)).collect();
    let make = |i: usize| {
        let (spec, site, facets, min_age) = &services[i];
        let mut input = input(i as u128, vec![coverage[i].clone()]);
        input.site = site_of(spec, *site).0;
        input.eligibility = eligibility_with(*facets, *min_age);
        input
    };
    let base = Index::build((0..services.len()).map(make).collect(), boundaries);
    let moved: Vec<usize> = (0..services.len()).filter(|i| i % 3 == 0).collect();
    let overlay = Index::build(moved.iter().map(|i| make(*i)).collect(), boundaries);
    let hidden = moved.iter().map(|i| Uuid::from_u128(*i as u128)).collect();
    let snapshot = Snapshot::new(1, Arc::new(base), Arc::new(overlay), Arc::new(hidden));
    for point in points {
        let q = MatchQuery {
            age,
            require,
            limit,
            ..query_at(*point, NeedSet(asked))
        };
        let outcome = snapshot.find(&q, locator, boundaries);
        let mut local = Vec::new();
        let mut national = Vec::new();
        // Crisis lines: every one that fits, uncapped; all of them when none fits.
        let mut lines = Vec::new();
        let mut every_line = Vec::new();
        for (i, (spec, site, facets, min_age)) in services.iter().enumerate() {
            let (site_kind, site_at) = site_of(spec, *site);
            let at = if matches!(site_kind, Site::Confidential { .. }) {
                q.cell
            } else {
                q.point
            };
            let is_national = matches!(&coverage[i], Coverage::National { .. })
                || matches!(&coverage[i], Coverage::Region { code } if code == "US");
            let needs = needs_of(i as u128).0;
            let is_line = is_national && needs & NeedSet::of(&[Need::Hotline]).0 != 0;
            let offers = needs & asked != 0 || is_line;
            let passes =
                require & !facets == 0 && age.is_none_or(|a| min_age.is_none_or(|m| a >= m));
            let entry = (
                (needs & asked).count_ones(),
                expected_key(&coverage[i], site_at, at, q.point),
                i,
            );
            if is_line {
                every_line.push(entry);
            }
            // National services come back with the hotlines wherever the point is.
            if !(offers && passes && (is_national || brute_force(&coverage[i], at, boundaries))) {
                continue;
            }
            match (is_national, is_line) {
                (true, true) => lines.push(entry),
                (true, false) => national.push(entry),
                (false, _) => local.push(entry),
            }
        }
        let by_rank = |a: &(u32, f64, usize), b: &(u32, f64, usize)| {
            b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        let filtered = age.is_some() || require != 0;
        if lines.is_empty() && filtered {
            lines = every_line;
        }
        for (list, room) in [
            (&mut local, usize::MAX),
            (&mut national, limit.saturating_sub(lines.len())),
        ] {
            list.sort_by(by_rank);
            list.truncate(room);
        }
        // The needs no local service offers get near misses, whatever national ones offer.
        let unmet = every_need_with_a_place(&mut local, asked, limit, by_rank);
        national.extend(lines);
        national.sort_by(by_rank);
        for (list, got) in [(&local, &outcome.results), (&national, &outcome.hotlines)] {
            let expected: Vec<Uuid> = list.iter().map(|e| Uuid::from_u128(e.2 as u128)).collect();
            let got: Vec<Uuid> = got.iter().map(|m| m.service_id).collect();
            prop_assert_eq!(got, expected, "at {:?}", point);
        }
        // A hotline whose country does not cover the point says so.
        for m in &outcome.hotlines {
            let i = m.service_id.as_u128() as usize;
            let (site_kind, _) = site_of(&services[i].0, services[i].1);
            let at = if matches!(site_kind, Site::Confidential { .. }) {
                q.cell
            } else {
                q.point
            };
            let covers = brute_force(&coverage[i], at, boundaries);
            let says_outside = m.why.iter().any(
                |w| matches!(w, Reason::Says(phrase) if phrase.ends_with("not this location")),
            );
            prop_assert_eq!(says_outside, !covers, "{:?} at {:?}", m.why, at);
        }
        prop_assert_eq!(outcome.unmet_needs, NeedSet(unmet));
        if unmet == 0 {
            prop_assert!(outcome.nearby_outside_coverage.is_empty());
        } else {
            let q = MatchQuery {
                needs: NeedSet(unmet),
                ..q
            };
            nearby_by_definition(services, &coverage, &q, &outcome.nearby_outside_coverage)?;
        }
    }
    Ok(())
}

/// A model entry: needs met, rank key, service number.
type Entry = (u32, f64, usize);

/// The results by the definition, from every local candidate in rank order: the best
/// `limit`, except that for each need asked (in code order) that no entry offers, the nearest
/// candidate offering it (then the lowest number) takes the place of the lowest-ranked entry
/// whose needs the others offer too, if there is one. Returns the needs no candidate offers.
fn every_need_with_a_place(
    local: &mut Vec<Entry>,
    asked: u16,
    limit: usize,
    by_rank: impl Fn(&Entry, &Entry) -> std::cmp::Ordering,
) -> u16 {
    let every = local.clone();
    local.truncate(limit);
    let offers = |e: &Entry| needs_of(e.2 as u128).0 & asked;
    let offered_but = |list: &[Entry], skip: Option<usize>| {
        let others = list.iter().enumerate().filter(|(i, _)| Some(*i) != skip);
        others.fold(0, |acc, (_, e)| acc | offers(e))
    };
    let mut unmet = 0;
    for bit in (0..16).map(|b| 1u16 << b).filter(|b| asked & b != 0) {
        if offered_but(local, None) & bit != 0 {
            continue;
        }
        let nearest = every
            .iter()
            .filter(|e| offers(e) & bit != 0)
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)));
        let Some(nearest) = nearest else {
            unmet |= bit;
            continue;
        };
        let gives_way = (0..local.len())
            .rev()
            .find(|&i| offers(&local[i]) & !offered_but(local, Some(i)) == 0);
        if let Some(i) = gives_way {
            local[i] = *nearest;
            local.sort_by(&by_rank);
        }
    }
    unmet
}

/// Within this of a limit (100 km, a band's edge), the index's distance and the
/// definition's may fall either side of it.
const NEARBY_SLACK_KM: f64 = 0.01;

/// The nearby list against the definition, for a point no local service covers: fitting
/// services whose coverage misses the point (the cell, for confidential ones) by at most
/// [`super::NEARBY_KM`], ranked by needs met, then distance to a public site or else the
/// upper limit of the gap's band, then id; each with its gap in km, or its band when
/// confidential.
fn nearby_by_definition(
    services: &[ServiceSpec],
    coverage: &[Coverage],
    q: &MatchQuery,
    got: &[super::ServiceMatch<'_>],
) -> Result<(), TestCaseError> {
    let boundaries = Boundaries::bundled();
    let mut near = Vec::new();
    for (i, (spec, site, facets, min_age)) in services.iter().enumerate() {
        let (site_kind, site_at) = site_of(spec, *site);
        let confidential = matches!(site_kind, Site::Confidential { .. });
        let at = if confidential { q.cell } else { q.point };
        let needs = needs_of(i as u128).0;
        let passes =
            q.require & !facets == 0 && q.age.is_none_or(|a| min_age.is_none_or(|m| a >= m));
        // National services are with the hotlines, never nearby.
        let national = matches!(&coverage[i], Coverage::National { .. })
            || matches!(&coverage[i], Coverage::Region { code } if code == "US");
        if needs & q.needs.0 == 0 || !passes || national {
            continue;
        }
        let gap = gap_by_definition(&coverage[i], at, super::NEARBY_KM + 1.0, boundaries);
        let limits = [0.0, 5.0, 10.0, 25.0, 50.0, super::NEARBY_KM];
        if limits.iter().any(|l| (gap - l).abs() <= NEARBY_SLACK_KM) {
            // On a limit: either side is right.
            return Ok(());
        }
        if gap <= 0.0 || gap > super::NEARBY_KM {
            continue;
        }
        let key = site_at.map_or_else(|| super::band_upper(gap), |s| haversine_km(q.point, s));
        near.push(((needs & q.needs.0).count_ones(), key, i, gap, confidential));
    }
    near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    near.truncate(q.limit);
    let expected: Vec<Uuid> = near.iter().map(|e| Uuid::from_u128(e.2 as u128)).collect();
    let ids: Vec<Uuid> = got.iter().map(|m| m.service_id).collect();
    prop_assert_eq!(ids, expected, "nearby at {:?}", q.point);
    for (m, (_, _, _, gap, confidential)) in got.iter().zip(&near) {
        let shown = m.why.iter().find_map(|w| match w {
            Reason::OutsideKm(km) => Some(Err(*km)),
            Reason::OutsideBand(band) => Some(Ok(*band)),
            _ => None,
        });
        if *confidential {
            prop_assert_eq!(shown, Some(Ok(super::band(*gap))));
        } else {
            let Some(Err(km)) = shown else {
                return Err(TestCaseError::fail(format!("no distance in {:?}", m.why)));
            };
            prop_assert!(
                (km - gap).abs() <= NEARBY_SLACK_KM,
                "{} km shown, {} km by definition",
                km,
                gap
            );
        }
    }
    Ok(())
}

fn service_spec(coverage: impl Strategy<Value = Spec>) -> impl Strategy<Value = ServiceSpec> {
    (
        coverage,
        site_spec(),
        0u16..1024,
        prop::option::of(10u8..30),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whole answers, ranking included, against the definition.
    #[test]
    fn answers_rank_like_a_brute_force_scan(
        services in prop::collection::vec(service_spec(spec()), 1..40),
        extra in prop::collection::vec((25.0..50.0f64, -125.0..-65.0f64), 0..10),
        asked in 1u16..4096,
        age in prop::option::of(5u8..40),
        require in prop_oneof![Just(0u16), (0u32..10).prop_map(|b| 1u16 << b)],
        // Small limits make the candidate heap fill, and drop arrivals, early.
        limit in prop_oneof![1usize..4, Just(MAX_LIMIT)],
    ) {
        let specs: Vec<Spec> = services.iter().map(|s| s.0.clone()).collect();
        let points = query_points(&specs, &extra, Boundaries::bundled());
        answers_rank_by_definition(&services, &points, asked, age, require, limit)?;
    }
}

/// Radius coverage crowded round a few places, as in a city: hundreds of circles, so the trees
/// have inner nodes and the nearest-first walk stops partway. Areas crowd round New York
/// too, so that candidates found first can rule areas out before their shapes are read.
fn crowded_spec() -> impl Strategy<Value = Spec> {
    let place = prop_oneof![Just((40.7, -74.0)), Just((89.5, 0.0)), Just((0.0, 179.9))];
    prop_oneof![
        20 => (place, -0.3..0.3f64, -0.3..0.3f64, prop_oneof![0.5..5.0f64, 5.0..80.0f64])
            .prop_map(|((lat, lon), a, o, r)| Spec::Radius((lat + a).min(90.0), wrap_lon(lon + o), r)),
        4 => (-0.3..0.3f64, -0.3..0.3f64, prop::collection::vec(0.1..0.6f64, 3..40))
            .prop_map(|(a, o, radii)| Spec::Area(40.7 + a, -74.0 + o, radii, false, false)),
        1 => spec(),
    ]
}

fn wrap_lon(lon: f64) -> f64 {
    if lon > 180.0 { lon - 360.0 } else { lon }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn answers_rank_like_a_brute_force_scan_in_a_crowded_place(
        services in prop::collection::vec(service_spec(crowded_spec()), 200..500),
        points in prop::collection::vec((prop_oneof![Just((40.7, -74.0)), Just((89.5, 0.0)), Just((0.0, 179.9))], -0.4..0.4f64, -0.4..0.4f64), 4..12),
        // One or two needs, as people ask, or any set.
        asked in prop_oneof![(0u32..12).prop_map(|a| 1u16 << a), (0u32..12, 0u32..12).prop_map(|(a, b)| (1u16 << a) | (1u16 << b)), 1u16..4096],
        age in prop::option::of(5u8..40),
        require in prop_oneof![3 => Just(0u16), 1 => (0u32..10).prop_map(|b| 1u16 << b)],
        limit in prop_oneof![1usize..6, Just(20usize)],
    ) {
        let points: Vec<Coordinates> = points
            .iter()
            .map(|((lat, lon), a, o)| coords(lat + a, wrap_lon(lon + o)))
            .collect();
        answers_rank_by_definition(&services, &points, asked, age, require, limit)?;
    }
}

/// An anonymous query at `point` (its cell snapped at 1 km) with no filters.
fn query_at(point: Coordinates, needs: NeedSet) -> MatchQuery {
    MatchQuery {
        point,
        point_unit: unit_vector(point),
        cell: snap(point, 1.0),
        source: LocationSource::Coordinates,
        precision_km: 1.0,
        needs,
        age: None,
        gender: None,
        languages: vec![],
        require: 0,
        open_now: false,
        limit: MAX_LIMIT,
        now: chrono::Utc::now(),
    }
}

/// A service whose entries reach the point more than once ranks and shows by its nearest
/// entry, whatever order its coverage is listed in.
#[test]
fn a_service_reached_twice_ranks_by_its_nearest_entry_in_any_order() {
    let boundaries = Boundaries::bundled();
    let locator = RegionLocator::bundled();
    let point = coords(37.0, -100.0);
    // About 1 km and 33 km from the point; the service has no public site, so its distance
    // is shown as a band.
    let near = Coverage::Radius {
        center: coords(37.01, -100.0),
        radius_km: 30.0,
    };
    let far = Coverage::Radius {
        center: coords(37.3, -100.0),
        radius_km: 40.0,
    };
    for coverage in [vec![near.clone(), far.clone()], vec![far, near]] {
        let index = Index::build(vec![input(1, coverage)], boundaries);
        let snapshot = Snapshot::new(
            1,
            Arc::new(index),
            Arc::new(Index::default()),
            Arc::new(Default::default()),
        );
        let outcome = snapshot.find(&query_at(point, needs_of(1)), locator, boundaries);
        let [found] = &outcome.results[..] else {
            panic!("one result expected, got {}", outcome.results.len());
        };
        assert_eq!(found.distance_band, Some("within 5 km"));
        assert!(
            found
                .why
                .iter()
                .any(|w| w.to_string() == "serves within 30 km of its base"),
            "{:?}",
            found.why
        );
    }
}

/// "Nearby, outside coverage" looks the short way round at 180°: areas just across the
/// antimeridian are found, and an area with parts on both sides is found once.
#[test]
fn nearby_areas_are_found_across_the_antimeridian() {
    let boundaries = Boundaries::bundled();
    let locator = RegionLocator::bundled();
    let rectangle = |west: f64, east: f64, south: f64, north: f64| {
        let ring = LineString::from(vec![
            (west, south),
            (east, south),
            (east, north),
            (west, north),
            (west, south),
        ]);
        Polygon::new(ring, vec![])
    };
    let area = |polygons: Vec<Polygon<f64>>| Coverage::Area {
        geometry: AreaGeometry::MultiPolygon(MultiPolygon::new(polygons)),
    };
    let services = vec![
        // East of 180 and west of it, each some 17 to 25 km from the points below.
        input(1, vec![area(vec![rectangle(179.3, 179.7, 51.0, 52.0)])]),
        input(2, vec![area(vec![rectangle(-179.7, -179.3, 51.0, 52.0)])]),
        // Both sides of the line, some 33 km south of the points.
        input(
            3,
            vec![area(vec![
                rectangle(179.8, 180.0, 50.8, 51.2),
                rectangle(-180.0, -179.8, 50.8, 51.2),
            ])],
        ),
    ];
    let snapshot = Snapshot::new(
        1,
        Arc::new(Index::build(services, boundaries)),
        Arc::new(Index::default()),
        Arc::new(Default::default()),
    );
    for point in [coords(51.5, -179.95), coords(51.5, 179.95)] {
        let outcome = snapshot.find(
            &query_at(point, NeedSet::of(&Need::ALL)),
            locator,
            boundaries,
        );
        assert!(outcome.results.is_empty(), "{point:?}");
        let mut near: Vec<u128> = outcome
            .nearby_outside_coverage
            .iter()
            .map(|m| m.service_id.as_u128())
            .collect();
        near.sort_unstable();
        assert_eq!(near, [1, 2, 3], "{point:?}");
        for m in &outcome.nearby_outside_coverage {
            let gap = m.why.iter().map(ToString::to_string).collect::<Vec<_>>();
            assert!(
                gap.iter().any(|w| w.starts_with("serves an area about")
                    && w.ends_with("km away, not this location")),
                "{gap:?}"
            );
        }
    }
}

proptest! {
    /// A service reached several times is kept with one reach whatever order the reaches
    /// arrive in: the nearest, then the most specific, then radius entries by slot and areas
    /// last.
    #[test]
    fn a_service_reached_several_times_keeps_the_same_reach_in_any_order(
        arrivals in Just((0..5usize).collect::<Vec<_>>()).prop_shuffle(),
        keys in prop::collection::vec(0u8..3, 5),
    ) {
        let coverage = vec![Coverage::National { country: "US".into() }; 2];
        let index = Index::build(vec![input(1, coverage)], Boundaries::bundled());
        let service = index.service(0).expect("built");
        prop_assert!(service.traits.has_several_entries());
        let radius = |slot: u8| Reach::Radius { center_chord2: 0.0, slot, site_at_centre: false };
        let reaches = [radius(0), radius(1), radius(2), Reach::Area, Reach::Region { region: 0 }];
        let candidate = |i: usize| Candidate {
            service,
            position: (false, 0),
            traits: service.traits,
            reach: reaches[i],
            outside_km: None,
            needs_met: 1,
            distance_key: f64::from(keys[i]),
        };
        let mut found = Candidates::new(MAX_LIMIT);
        for i in &arrivals {
            found.push(candidate(*i));
        }
        // The nearest; among those as near, the region (last here) is the least specific, and
        // the rest go by position.
        let expected = (0..5).min_by_key(|i| (keys[*i], *i)).expect("five reaches");
        let kept = found.into_top().0;
        prop_assert_eq!(kept.len(), 1);
        prop_assert_eq!(kept[0].reach, reaches[expected]);
    }
}

fn eligibility_with(facets: u16, min_age: Option<u8>) -> Eligibility {
    let has = |bit: u16| facets & (1 << bit) != 0;
    Eligibility {
        min_age,
        accepts_unaccompanied_minors: has(0),
        trafficking_specialized: has(1),
        dv_specialized: has(2),
        lgbtq_affirming: has(3),
        no_id_required: has(4),
        no_immigration_status_required: has(5),
        no_law_enforcement_required: has(6),
        accepts_children: has(7),
        accepts_pets: has(8),
        wheelchair_accessible: has(9),
        ..Eligibility::default()
    }
}

proptest! {
    /// The candidate heap keeps exactly what sorting everything would: ties in needs
    /// and distance included, whatever the arrival order.
    #[test]
    fn pruning_keeps_the_best(
        arrivals in Just((0..60u32).collect::<Vec<_>>()).prop_shuffle(),
        keys in prop::collection::vec((0u32..3, 0u8..4), 60),
        limit in 1usize..6,
    ) {
        let coverage = vec![Coverage::National { country: "US".into() }];
        let index = Index::build((0..60).map(|i| input(i, coverage.clone())).collect(), Boundaries::bundled());
        let candidate = |i: u32| {
            let service = index.service(i).expect("built");
            Candidate {
                service,
                position: (false, i),
                traits: service.traits,
                reach: Reach::Area,
                outside_km: None,
                needs_met: keys[i as usize].0,
                distance_key: f64::from(keys[i as usize].1),
            }
        };
        let mut found = Candidates::new(limit);
        for i in &arrivals {
            found.push(candidate(*i));
        }
        let mut all: Vec<Candidate<'_>> = arrivals.iter().map(|i| candidate(*i)).collect();
        all.sort_by(Candidate::rank);
        let expected: Vec<u32> = all.iter().take(limit).map(|c| c.position.1).collect();
        let got: Vec<u32> = found.into_top().0.iter().map(|c| c.position.1).collect();
        prop_assert_eq!(got, expected);
    }
}
